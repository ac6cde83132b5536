"""review.html: one self-contained page to read a campaign and decide, with the campaign's rows embedded.

Everything is inline (style, script, data as JSON in `<script type="application/json">` blocks), and the
page's Content-Security-Policy allows nothing but its own inline style and script: it makes no request at
all, so it works offline and as an e-mail attachment. Rows are streamed from items.csv into the page, with
each entitlement written once in a table of its own. Above PAGE_ITEM_LIMIT items the page lists none and
says to decide in items.csv.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from typing import Any

from access_sync.review.items import Item, read_items
from access_sync.review.layout import items_key, page_key
from access_sync.review.records import Campaign
from access_sync.stores.blob import BlobStore, BlobWriter

PAGE_ITEM_LIMIT = 50_000
ITEMS_SLOT = "{{ITEMS}}"
ENTITLEMENTS_SLOT = "{{ENTITLEMENTS}}"
_SLOT = re.compile(r"\{\{([A-Z0-9_]+)\}\}")


def asset(name: str) -> str:
    return (resources.files("access_sync.review") / "assets" / name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def script_json(value: Any) -> str:
    """JSON that cannot end the <script> block it sits in: every `<` is written as \\u003c."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def fill(template: str, values: dict[str, str]) -> str:
    """Replaces each `{{NAME}}` given in one pass (what is put in is never scanned again); others stay."""
    return _SLOT.sub(lambda match: values.get(match[1], match[0]), template)


def _meta_html(campaign: Campaign) -> str:
    """What the page reviews, in plain HTML so that it shows even before the script runs."""
    snapshots = "".join(
        f"<li><strong>{html.escape(s.connector)}</strong> {html.escape(s.completed_at)} "
        f'<span class="muted">({html.escape(", ".join(s.used_for).replace("_", " "))}; sync '
        f"<code>{html.escape(s.sync_id)}</code>)</span></li>"
        for s in campaign.snapshots
    )
    findings = (
        f"run <code>{html.escape(campaign.findings.run_id)}</code> of {html.escape(campaign.findings.completed_at)}"
        if campaign.findings
        else "no findings run: the findings column is empty"
    )
    return (
        f"<div><dt>Campaign</dt><dd><code>{html.escape(campaign.campaign_id)}</code></dd></div>"
        f"<div><dt>Scope</dt><dd>{html.escape(campaign.scope)} · {campaign.items:,} items</dd></div>"
        f"<div><dt>Created</dt><dd>{html.escape(campaign.created_at)} by {html.escape(campaign.created_by)}</dd></div>"
        f"<div><dt>Findings</dt><dd>{findings}</dd></div>"
        f'<div class="wide"><dt>Snapshots</dt><dd><ul>{snapshots}</ul></dd></div>'
    )


def _page_data(campaign: Campaign) -> dict[str, Any]:
    return {
        "campaign_id": campaign.campaign_id,
        "created_at": campaign.created_at,
        "scope": campaign.scope,
        "items": campaign.items,
        "lists_items": campaign.page_lists_items,
        "limit": PAGE_ITEM_LIMIT,
    }


def _write_rows(store: BlobStore, campaign: Campaign, out: BlobWriter) -> list[list[str]]:
    """Streams the rows as JSON arrays (the entitlement as an index); returns the entitlement table."""
    table: dict[tuple[str, str, str, str], int] = {}
    out.write(b"[")
    if campaign.page_lists_items:
        with read_items(store, items_key(campaign.campaign_id)) as rows:
            first = True
            for _, item in rows:
                if not isinstance(item, Item):
                    raise ValueError(f"items.csv of campaign {campaign.campaign_id} is damaged: {item.message}")
                entitlement = (item.entitlement_id, item.entitlement_name, item.resource_name, item.connector)
                index = table.setdefault(entitlement, len(table))
                row = [*item[:7], index, item.findings, item.reviewer]
                out.write((("" if first else ",\n") + script_json(row)).encode())
                first = False
    out.write(b"]")
    return [list(entitlement) for entitlement in table]


def write_page(store: BlobStore, campaign: Campaign) -> None:
    css, script = asset("review.css"), asset("review.js")
    page = fill(
        asset("review.html"),
        {
            "TITLE": html.escape(f"Access review {campaign.campaign_id}"),
            "STYLE_HASH": csp_hash(css),
            "SCRIPT_HASH": csp_hash(script),
            "CSS": css,
            "META": _meta_html(campaign),
            "CAMPAIGN": script_json(_page_data(campaign)),
            "CAMPAIGN_ID": html.escape(campaign.campaign_id),
            "ITEM_COUNT": f"{campaign.items:,}",
            "LIMIT": f"{PAGE_ITEM_LIMIT:,}",
            "JS": script,
        },
    )
    head, rest = page.split(ITEMS_SLOT)
    middle, tail = rest.split(ENTITLEMENTS_SLOT)
    with store.open_writer(page_key(campaign.campaign_id), "text/html; charset=utf-8") as out:
        out.write(head.encode())
        entitlements = _write_rows(store, campaign, out)
        out.write(middle.encode())
        out.write(script_json(entitlements).encode())
        out.write(tail.encode())
