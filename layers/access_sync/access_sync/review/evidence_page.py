"""evidence.html: the report for a person — summary, an inline SVG chart, manual tasks, exceptions, provenance.

Static HTML with its style inline and no script; its Content-Security-Policy allows nothing else, so it
opens offline and as an attachment. The full item list is evidence.json; the page lists up to LISTED_MAX
items per table and says so when there are more.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from access_sync.review.evidence import LISTED_MAX, Evidence
from access_sync.review.page import asset, csp_hash, fill

# (label, state, colour) per bar segment; colours pass WCAG contrast on white with their text labels beside.
REVOKE_VERIFICATION = (("verified", "#1f7a4d"), ("pending", "#b7791f"), ("not_removed", "#b42318"))
REVOKE_OUTCOME = (
    ("succeeded", "#1f7a4d"),
    ("already_done", "#4f8f6f"),
    ("queued", "#6b7280"),
    ("unsupported", "#b7791f"),
    ("failed", "#b42318"),
    ("rejected", "#7a1d14"),
)
KEEP_VERIFICATION = (("kept", "#2450b8"), ("removed_elsewhere", "#b7791f"))
BAR_WIDTH, BAR_HEIGHT, LABEL_WIDTH = 520, 22, 170


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def label(state: str) -> str:
    return state.replace("_", " ")


def _bar(y: int, title: str, counts: dict[str, int], segments: Sequence[tuple[str, str]]) -> str:
    total = sum(counts.get(state, 0) for state, _ in segments)
    parts = [f'<text x="0" y="{y + 15}" class="axis">{esc(title)} ({total:,})</text>']
    parts.append(
        f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" rx="4" fill="#eef0f3"></rect>'
    )
    x = float(LABEL_WIDTH)
    for state, colour in segments:
        value = counts.get(state, 0)
        if not value:
            continue
        width = BAR_WIDTH * value / total
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" fill="{colour}">'
            f"<title>{esc(label(state))}: {value:,}</title></rect>"
        )
        x += width
    return "".join(parts)


def _legend(y: int, segments: Iterable[tuple[str, str]], counts: dict[str, int]) -> tuple[str, int]:
    """The legend under a bar, wrapped to the bar's width; returns it and the height it takes."""
    parts, x, line = [], LABEL_WIDTH, 0
    for state, colour in segments:
        text = f"{label(state)} {counts.get(state, 0):,}"
        width = 24 + 6.5 * len(text)  # about 6.5 px per character at the legend's size
        if x + width > LABEL_WIDTH + BAR_WIDTH and x > LABEL_WIDTH:
            x, line = LABEL_WIDTH, line + 1
        top = y + 16 * line
        parts.append(
            f'<rect x="{x}" y="{top}" width="10" height="10" rx="2" fill="{colour}"></rect>'
            f'<text x="{x + 14}" y="{top + 9}" class="legend">{esc(text)}</text>'
        )
        x += int(width)
    return "".join(parts), 16 * (line + 1)


def chart(summary: dict[str, Any]) -> str:
    """Decisions by outcome and by what the newest snapshot says, as stacked bars."""
    verification, outcomes = summary["verification"], summary["outcomes"]
    rows = (
        ("Revoke: verification", verification, REVOKE_VERIFICATION),
        ("Revoke: outcome", outcomes, REVOKE_OUTCOME),
        ("Keep: verification", verification, KEEP_VERIFICATION),
    )
    body, y = [], 0
    for title, counts, segments in rows:
        legend, height = _legend(y + BAR_HEIGHT + 6, segments, counts)
        body += [_bar(y, title, counts, segments), legend]
        y += BAR_HEIGHT + 18 + height
    width = LABEL_WIDTH + BAR_WIDTH + 10
    return (
        f'<svg viewBox="0 0 {width} {y}" width="100%" role="img" '
        f'aria-labelledby="chart-title chart-desc" class="chart"><title id="chart-title">Decisions by outcome and '
        f'verification</title><desc id="chart-desc">Revoke decisions: {verification["verified"]:,} verified, '
        f"{verification['pending']:,} pending, {verification['not_removed']:,} not removed. Keep decisions: "
        f"{verification['kept']:,} kept, {verification['removed_elsewhere']:,} removed elsewhere.</desc>"
        + "".join(body)
        + "</svg>"
    )


def grid(titles: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table of already-escaped cells."""
    head = "".join(f'<th scope="col">{esc(title)}</th>' for title in titles)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<div class='wrap'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def table(caption: str, columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]], total: int) -> str:
    if not rows:
        return f"<h2>{esc(caption)}</h2><p class='muted'>None.</p>"
    cells = ([_cell(key, row) for _, key in columns] for row in rows)
    more = f"<p class='muted'>{total - len(rows):,} more in evidence.json.</p>" if total > len(rows) else ""
    return f"<h2>{esc(caption)} ({total:,})</h2>" + grid([title for title, _ in columns], cells) + more


def two_lines(first: str, second: str) -> str:
    return f"{first}<br><span class='muted'>{second}</span>"


def _cell(key: str, row: dict[str, Any]) -> str:
    outcome = row.get("outcome") or {}
    if key == "account":
        return two_lines(f"<strong>{esc(row['account_name'])}</strong>", esc(row["account_email"] or row["account_id"]))
    if key == "entitlement":
        return two_lines(esc(row["entitlement_name"]), f"{esc(row['connector'])} · {esc(row['resource_name'])}")
    if key == "outcome":
        status = outcome.get("status") or ("queued" if row.get("decision") == "revoke" else "")
        badge = f"<span class='state state-{esc(status)}'>{esc(label(status))}</span>"
        return two_lines(badge, esc(outcome.get("completed_at"))) if outcome else badge
    if key == "what_to_do":
        return esc(outcome.get("message"))
    if key == "verification":
        return f"<span class='state state-{esc(row[key])}'>{esc(label(row[key]))}</span>"
    if key == "applied":
        return two_lines(esc(row["applied_at"]), esc(row["applied_by"]))
    return esc(row.get(key))


ITEM_COLUMNS = (
    ("Account", "account"),
    ("Entitlement", "entitlement"),
    ("Decision", "decision"),
    ("Applied", "applied"),
    ("Outcome", "outcome"),
    ("Verification", "verification"),
    ("Comment", "comment"),
)
TASK_COLUMNS = (
    ("Account", "account"),
    ("Entitlement", "entitlement"),
    ("What to do", "what_to_do"),
    ("Verification", "verification"),
)


def _intact(value: bool | None) -> str:
    return "yes" if value else "missing" if value is None else "NO: changed since the campaign"


def _provenance(evidence: Evidence) -> str:
    snapshots = grid(
        ("Connector", "Sync id", "Used for", "Completed", "Manifest sha256", "Manifest unchanged"),
        (
            (
                esc(s["connector"]),
                f"<code>{esc(s['sync_id'])}</code>",
                esc(", ".join(label(use) for use in s["used_for"])),
                esc(s["completed_at"]),
                f"<code>{esc(s['manifest_sha256'])}</code>",
                _intact(s["manifest_intact"]),
            )
            for s in evidence.snapshots
        ),
    )
    applications = grid(
        ("Apply id", "Applied by", "Applied at", "Mode", "Decisions file (sha256)", "Decisions"),
        (
            (
                f"<code>{esc(a.apply_id)}</code>",
                esc(a.applied_by),
                esc(a.applied_at),
                esc(label(a.mode)),
                two_lines(esc(a.decisions_file.name), f"<code>{esc(a.decisions_file.sha256)}</code>"),
                esc(
                    f"{a.counts.get('revoke', 0):,} revoke, {a.counts.get('keep', 0):,} keep"
                    + (f"; applied again {len(a.repeats)} time(s), changing nothing" if a.repeats else "")
                ),
            )
            for a in evidence.applications
        ),
    )
    if not evidence.applications:
        applications = "<p class='muted'>No decisions have been applied yet.</p>"
    return f"<h2>Snapshots used</h2>{snapshots}<h2>Applications of decisions</h2>{applications}"


def _cards(summary: dict[str, Any]) -> str:
    decisions, verification = summary["decisions"], summary["verification"]
    cards = (
        ("Items", summary["items"], ""),
        ("Revoke", decisions["revoke"], "bad"),
        ("Verified removed", verification["verified"], "good"),
        ("Keep", decisions["keep"], ""),
        ("Undecided", decisions["undecided"], ""),
        ("Manual tasks", summary["manual_tasks"], "warn"),
    )
    return "".join(
        f"<div class='card {tone}'><span>{esc(title)}</span><strong>{value:,}</strong></div>"
        for title, value, tone in cards
    )


def evidence_html(evidence: Evidence) -> str:
    css = asset("evidence.css")
    campaign, summary = evidence.campaign, evidence.summary
    counts = summary.as_dict()
    body = (
        f"<div class='cards'>{_cards(counts)}</div>"
        f"<section class='panel'>{chart(counts)}</section>"
        + table("Manual tasks", TASK_COLUMNS, summary.manual_tasks[:LISTED_MAX], len(summary.manual_tasks))
        + table(
            "Exceptions: not removed, removed elsewhere, failed",
            ITEM_COLUMNS,
            summary.listed_exceptions,
            summary.exceptions,
        )
        + table(
            "Decided items", ITEM_COLUMNS, summary.decided, counts["decisions"]["revoke"] + counts["decisions"]["keep"]
        )
        + _provenance(evidence)
    )
    return fill(
        asset("evidence.html"),
        {
            "STYLE_HASH": csp_hash(css),
            "CSS": css,
            "TITLE": esc(f"Access review evidence {campaign.campaign_id}"),
            "CAMPAIGN_ID": esc(campaign.campaign_id),
            "SCOPE": esc(campaign.scope),
            "CONNECTORS": esc(", ".join(campaign.connectors)),
            "CREATED": esc(f"{campaign.created_at} by {campaign.created_by}"),
            "GENERATED": esc(f"{evidence.generated_at} by {evidence.generated_by}"),
            "ITEMS_SHA256": esc(campaign.items_sha256),
            "BODY": body,
        },
    )
