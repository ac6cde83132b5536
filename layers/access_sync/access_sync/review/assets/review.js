(function () {
  "use strict";

  var COLUMNS = ["item_id", "connector", "account_id", "account_name", "account_email", "account_status",
    "person_status", "entitlement_id", "entitlement_name", "resource_name", "findings", "reviewer", "decision",
    "comment"];
  var DECISIONS = ["", "keep", "revoke"];
  // Positions in an embedded row: the items.csv columns, with the entitlement as an index into its own table.
  var ID = 0, CONNECTOR = 1, ACCOUNT = 2, NAME = 3, EMAIL = 4, STATUS = 5, PERSON = 6, ENT = 7, FINDINGS = 8,
    REVIEWER = 9;
  var PERSON_LABELS = {
    active: "Active", left: "Left", scheduled_to_leave: "Leaving", no_person: "No person in Gusto",
    ambiguous: "Ambiguous person", "": "Person unknown"
  };
  var PERSON_TONE = { left: "bad", scheduled_to_leave: "warn", no_person: "warn", ambiguous: "warn", active: "good" };

  function $(id) { return document.getElementById(id); }
  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(n) { return n.toLocaleString("en-US"); }
  function humanize(text) { return text ? text.replace(/_/g, " ") : ""; }

  var meta = JSON.parse($("campaign-data").textContent);
  if (!meta.lists_items) {
    $("too-large").hidden = false;
    return;
  }
  var rows = JSON.parse($("items-data").textContent);
  var ents = JSON.parse($("entitlements-data").textContent);
  var n = rows.length;
  var decision = new Uint8Array(n);
  var comment = new Array(n).fill("");
  var counts = [n, 0, 0];  // undecided, keep, revoke
  var byItem = new Map();
  var haystack = new Array(n);
  for (var i = 0; i < n; i++) {
    var r = rows[i], e = ents[r[ENT]];
    byItem.set(r[ID], i);
    haystack[i] = [r[NAME], r[EMAIL], r[ACCOUNT], e[1], e[2], e[0], r[REVIEWER], r[FINDINGS], r[ID]].join("\n").toLowerCase();
  }

  // Each filterable column as small integer codes, so that filtering 50,000 rows is a tight loop.
  function categories(column) {
    var values = [], seen = new Map(), codes = new Int32Array(n), tally = [];
    for (var k = 0; k < n; k++) {
      var v = column(k), c = seen.get(v);
      if (c === undefined) { c = values.length; seen.set(v, c); values.push(v); tally.push(0); }
      codes[k] = c;
      tally[c]++;
    }
    return { values: values, codes: codes, tally: tally };
  }
  var cat = {
    connector: categories(function (k) { return rows[k][CONNECTOR]; }),
    entitlement: categories(function (k) { return rows[k][ENT]; }),
    status: categories(function (k) { return rows[k][STATUS]; }),
    person: categories(function (k) { return rows[k][PERSON]; }),
    reviewer: categories(function (k) { return rows[k][REVIEWER]; })
  };
  var kinds = [], kindBits = new Map(), findingMask = new Int32Array(n);
  for (var f = 0; f < n; f++) {
    if (!rows[f][FINDINGS]) continue;
    rows[f][FINDINGS].split(";").forEach(function (kind) {
      if (!kindBits.has(kind) && kinds.length < 31) { kindBits.set(kind, 1 << kinds.length); kinds.push(kind); }
      findingMask[f] |= kindBits.get(kind) || 0;
    });
  }

  function option(value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }
  function fillSelect(id, all, entries) {
    var select = $(id);
    select.appendChild(option("", all));
    entries.forEach(function (entry) { select.appendChild(option(entry[0], entry[1])); });
  }
  function categoryOptions(c, label) {
    return c.values.map(function (v, code) { return [String(code), label(v) + " (" + fmt(c.tally[code]) + ")", v]; })
      .sort(function (a, b) { return a[1].localeCompare(b[1]); });
  }
  fillSelect("f-connector", "All connectors", categoryOptions(cat.connector, function (v) { return v; }));
  fillSelect("f-entitlement", "All entitlements", categoryOptions(cat.entitlement, function (v) {
    var e = ents[v];
    return cat.connector.values.length > 1 ? e[3] + " · " + e[1] : e[1];
  }));
  fillSelect("f-account-status", "Any account status", categoryOptions(cat.status, function (v) {
    return v || "unknown";
  }));
  fillSelect("f-person-status", "Any person status", categoryOptions(cat.person, function (v) {
    return PERSON_LABELS[v] || humanize(v);
  }));
  fillSelect("f-finding", "With or without", [["+", "With a finding"], ["-", "Without a finding"]].concat(
    kinds.map(function (kind) { return ["k:" + kind, humanize(kind)]; })));
  fillSelect("f-reviewer", "Any reviewer", categoryOptions(cat.reviewer, function (v) {
    return v || "No reviewer";
  }));
  fillSelect("f-decision", "Any decision", [["0", "Undecided"], ["1", "Keep"], ["2", "Revoke"]]);

  var shown = new Int32Array(0);
  var page = 0;
  var undo = null;

  function code(id) { var v = $(id).value; return v === "" ? -1 : Number(v); }

  function applyFilters() {
    performance.mark("filter-start");
    var connector = code("f-connector"), entitlement = code("f-entitlement"), status = code("f-account-status"),
      person = code("f-person-status"), reviewer = code("f-reviewer"), wanted = code("f-decision");
    var finding = $("f-finding").value, mask = 0;
    if (finding.indexOf("k:") === 0) mask = kindBits.get(finding.slice(2)) || 0;
    var words = $("f-text").value.toLowerCase().split(/\s+/).filter(Boolean);
    var out = new Int32Array(n), m = 0;
    for (var k = 0; k < n; k++) {
      if (connector >= 0 && cat.connector.codes[k] !== connector) continue;
      if (entitlement >= 0 && cat.entitlement.codes[k] !== entitlement) continue;
      if (status >= 0 && cat.status.codes[k] !== status) continue;
      if (person >= 0 && cat.person.codes[k] !== person) continue;
      if (reviewer >= 0 && cat.reviewer.codes[k] !== reviewer) continue;
      if (wanted >= 0 && decision[k] !== wanted) continue;
      if (finding === "+" && !rows[k][FINDINGS]) continue;
      if (finding === "-" && rows[k][FINDINGS]) continue;
      if (mask && !(findingMask[k] & mask)) continue;
      if (words.length) {
        var text = haystack[k], hit = true;
        for (var w = 0; w < words.length && hit; w++) hit = text.indexOf(words[w]) >= 0;
        if (!hit) continue;
      }
      out[m++] = k;
    }
    shown = out.slice(0, m);
    page = 0;
    render();
    performance.measure("filter", "filter-start");
  }

  function pageSize() { return Number($("page-size").value); }
  function pages() { return Math.max(1, Math.ceil(shown.length / pageSize())); }

  function tag(text, tone, extra) {
    return '<span class="tag' + (tone ? " tag--" + tone : "") + (extra || "") + '">' + esc(text) + "</span>";
  }
  function rowHtml(k) {
    var r = rows[k], e = ents[r[ENT]], d = decision[k];
    var label = esc(r[NAME] + " – " + e[1]);
    var findings = r[FINDINGS] ? r[FINDINGS].split(";").map(function (x) { return tag(humanize(x), "bad"); }).join("") : "";
    return '<tr data-i="' + k + '" class="' + (d === 2 ? "is-revoke" : d === 1 ? "is-keep" : "") + '">' +
      '<td><div class="primary-line">' + esc(r[NAME]) + '</div><div class="sub">' + esc(r[EMAIL] || r[ACCOUNT]) + "</div></td>" +
      '<td><div class="primary-line">' + esc(e[1]) + '</div><div class="sub">' + tag(r[CONNECTOR], "", " tag--connector") +
      esc(e[2]) + "</div></td>" +
      "<td>" + tag(r[STATUS] || "unknown", r[STATUS] === "disabled" ? "warn" : "") +
      tag(PERSON_LABELS[r[PERSON]] || humanize(r[PERSON]), PERSON_TONE[r[PERSON]] || "") + "</td>" +
      "<td>" + (findings || '<span class="sub">None</span>') + "</td>" +
      '<td class="sub reviewer">' + (esc(r[REVIEWER]) || "—") + "</td>" +
      '<td><div class="decide" role="group" aria-label="Decision for ' + label + '">' +
      '<button type="button" data-d="1" aria-pressed="' + (d === 1) + '">Keep</button>' +
      '<button type="button" data-d="2" aria-pressed="' + (d === 2) + '">Revoke</button></div></td>' +
      '<td><input type="text" class="comment" maxlength="1000" aria-label="Comment for ' + label + '" value="' +
      esc(comment[k]) + '"></td></tr>';
  }

  function render() {
    page = Math.min(page, pages() - 1);
    var start = page * pageSize(), end = Math.min(shown.length, start + pageSize()), html = [];
    for (var k = start; k < end; k++) html.push(rowHtml(shown[k]));
    $("rows").innerHTML = html.join("");
    $("empty").hidden = shown.length > 0;
    $("page-info").textContent = shown.length
      ? "Page " + fmt(page + 1) + " of " + fmt(pages()) + " · items " + fmt(start + 1) + "–" + fmt(end) + " of " + fmt(shown.length)
      : "No items";
    $("prev").disabled = page === 0;
    $("next").disabled = page >= pages() - 1;
    var filtered = shown.length !== n;
    $("bulk-label").textContent = filtered ? "Showing " + fmt(shown.length) + " of " + fmt(n) + " items" : "Showing all " + fmt(n) + " items";
    ["bulk-keep", "bulk-revoke", "bulk-clear"].forEach(function (id) { $(id).disabled = shown.length === 0; });
    updateCounts();
  }

  var announce = null;
  function updateCounts() {
    $("count-total").textContent = fmt(n);
    $("count-keep").textContent = fmt(counts[1]);
    $("count-revoke").textContent = fmt(counts[2]);
    $("count-undecided").textContent = fmt(counts[0]);
    $("bar-keep").style.width = (100 * counts[1] / Math.max(n, 1)) + "%";
    $("bar-revoke").style.width = (100 * counts[2] / Math.max(n, 1)) + "%";
    clearTimeout(announce);
    announce = setTimeout(function () {
      $("counts").textContent = fmt(shown.length) + " shown. " + fmt(counts[2]) + " to revoke, " + fmt(counts[1]) +
        " to keep, " + fmt(counts[0]) + " undecided.";
    }, 400);
  }

  function setDecision(k, d) {
    counts[decision[k]]--;
    decision[k] = d;
    counts[d]++;
  }
  function refreshRow(tr) {
    var k = Number(tr.getAttribute("data-i")), d = decision[k];
    tr.className = d === 2 ? "is-revoke" : d === 1 ? "is-keep" : "";
    tr.querySelectorAll("button[data-d]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(Number(b.getAttribute("data-d")) === d));
    });
  }
  function decideRow(tr, d) {
    setDecision(Number(tr.getAttribute("data-i")), d);
    refreshRow(tr);
    updateCounts();
    save();
  }

  function bulk(d) {
    var previous = new Uint8Array(shown.length);
    for (var k = 0; k < shown.length; k++) { previous[k] = decision[shown[k]]; setDecision(shown[k], d); }
    undo = { indices: shown.slice(), previous: previous };
    $("undo").hidden = false;
    var verb = d === 0 ? "Cleared the decisions of " : "Marked ";
    notify(verb + fmt(shown.length) + " items" + (d ? " " + DECISIONS[d] : "") + ".");
    render();
    save();
  }
  function undoBulk() {
    if (!undo) return;
    for (var k = 0; k < undo.indices.length; k++) setDecision(undo.indices[k], undo.previous[k]);
    notify("Undid the last change to " + fmt(undo.indices.length) + " items.");
    undo = null;
    $("undo").hidden = true;
    render();
    save();
  }

  function notify(text, actions) {
    var box = $("notice");
    box.textContent = text;
    (actions || []).forEach(function (action) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "button button--ghost";
      b.textContent = action[0];
      b.addEventListener("click", action[1]);
      box.appendChild(b);
    });
    box.hidden = false;
  }

  function csvField(value) {
    var s = String(value);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function decisionsCsv() {
    var lines = [COLUMNS.join(",")];
    for (var k = 0; k < n; k++) {
      var r = rows[k], e = ents[r[ENT]];
      lines.push([r[ID], r[CONNECTOR], r[ACCOUNT], r[NAME], r[EMAIL], r[STATUS], r[PERSON], e[0], e[1], e[2],
        r[FINDINGS], r[REVIEWER], DECISIONS[decision[k]], comment[k]].map(csvField).join(","));
    }
    return lines.join("\r\n") + "\r\n";
  }
  function download() {
    var blob = new Blob([decisionsCsv()], { type: "text/csv;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "decisions-" + meta.campaign_id + ".csv";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 2000);
    notify("Downloaded " + link.download + ": " + fmt(counts[2]) + " revoke, " + fmt(counts[1]) + " keep, " +
      fmt(counts[0]) + " undecided.");
  }

  function parseCsv(text) {
    var out = [], row = [], field = "", quoted = false, k = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    for (; k < text.length; k++) {
      var c = text[k];
      if (quoted) {
        if (c !== '"') field += c;
        else if (text[k + 1] === '"') { field += '"'; k++; }
        else quoted = false;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[k + 1] === "\n") k++;
        row.push(field); out.push(row); row = []; field = "";
      } else field += c;
    }
    if (field !== "" || row.length) { row.push(field); out.push(row); }
    return out;
  }
  function load(file) {
    var reader = new FileReader();
    reader.onload = function () {
      var table = parseCsv(String(reader.result));
      if (!table.length || table[0].join(",") !== COLUMNS.join(",")) {
        notify(file.name + " is not a decisions file of this page: its first line must be the items.csv columns.");
        return;
      }
      var loaded = 0, unknown = 0;
      for (var k = 1; k < table.length; k++) {
        var line = table[k], at = byItem.get(line[0]);
        if (line.length !== COLUMNS.length) continue;
        if (at === undefined) { unknown++; continue; }
        var d = DECISIONS.indexOf(line[12].trim().toLowerCase());
        setDecision(at, d < 0 ? 0 : d);
        comment[at] = line[13];
        loaded += d > 0 ? 1 : 0;
      }
      notify("Loaded " + fmt(loaded) + " decisions from " + file.name + (unknown ? "; " + fmt(unknown) +
        " rows belong to no item of this campaign and were left out." : "."));
      render();
      save();
    };
    reader.readAsText(file);
  }

  // Progress is kept in this browser (per campaign), so a reviewer can close the page and come back.
  var storageKey = "access-sync.review." + meta.campaign_id;
  var saving = null;
  function save() {
    clearTimeout(saving);
    saving = setTimeout(function () {
      var notes = {};
      for (var k = 0; k < n; k++) if (comment[k]) notes[k] = comment[k];
      try {
        localStorage.setItem(storageKey, JSON.stringify({ saved_at: new Date().toISOString(), d: decision.join(""), c: notes }));
      } catch (err) { /* storage may be off for files; the download still holds everything */ }
    }, 300);
  }
  function restore() {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (err) { saved = null; }
    if (!saved || typeof saved.d !== "string" || saved.d.length !== n) return;
    for (var k = 0; k < n; k++) setDecision(k, Number(saved.d[k]) || 0);
    Object.keys(saved.c || {}).forEach(function (key) { if (key < n) comment[key] = String(saved.c[key]); });
    notify("Restored " + fmt(counts[1] + counts[2]) + " decisions saved in this browser at " + saved.saved_at + ".",
      [["Start over", function () {
        for (var k = 0; k < n; k++) { setDecision(k, 0); comment[k] = ""; }
        try { localStorage.removeItem(storageKey); } catch (err) { /* nothing kept */ }
        $("notice").hidden = true;
        render();
      }]]);
  }

  var typing = null;
  $("f-text").addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(applyFilters, 120); });
  ["f-connector", "f-entitlement", "f-account-status", "f-person-status", "f-finding", "f-reviewer", "f-decision"]
    .forEach(function (id) { $(id).addEventListener("change", applyFilters); });
  $("f-reset").addEventListener("click", function () {
    document.querySelectorAll(".filters select").forEach(function (s) { s.value = ""; });
    $("f-text").value = "";
    applyFilters();
  });
  $("bulk-keep").addEventListener("click", function () { bulk(1); });
  $("bulk-revoke").addEventListener("click", function () { bulk(2); });
  $("bulk-clear").addEventListener("click", function () { bulk(0); });
  $("undo").addEventListener("click", undoBulk);
  $("download").addEventListener("click", download);
  $("load-file").addEventListener("change", function (event) {
    if (event.target.files.length) load(event.target.files[0]);
    event.target.value = "";
  });
  $("prev").addEventListener("click", function () { page--; render(); });
  $("next").addEventListener("click", function () { page++; render(); });
  $("page-size").addEventListener("change", function () { page = 0; render(); });
  var tbody = $("rows");
  tbody.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-d]");
    if (!button) return;
    var d = Number(button.getAttribute("data-d"));
    decideRow(button.closest("tr"), button.getAttribute("aria-pressed") === "true" ? 0 : d);  // pressed again: undecided
  });
  tbody.addEventListener("input", function (event) {
    if (!event.target.classList.contains("comment")) return;
    comment[Number(event.target.closest("tr").getAttribute("data-i"))] = event.target.value;
    save();
  });
  tbody.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.ctrlKey || event.metaKey || event.altKey) return;
    var d = { k: 1, r: 2, u: 0 }[event.key.toLowerCase()];
    var tr = event.target.closest("tr");
    if (d === undefined || !tr) return;
    event.preventDefault();
    decideRow(tr, d);
  });

  restore();
  $("app").hidden = false;
  applyFilters();
})();
