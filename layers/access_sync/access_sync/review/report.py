"""Writing the report: evidence.json (streamed, every item) and evidence.html into the campaign folder."""

from __future__ import annotations

import json
from datetime import datetime

from access_sync.review.evidence import Evidence, build_evidence
from access_sync.review.evidence_page import evidence_html
from access_sync.review.layout import evidence_html_key, evidence_json_key
from access_sync.stores.blob import BlobStore


def write_evidence_json(store: BlobStore, evidence: Evidence) -> str:
    key = evidence_json_key(evidence.campaign.campaign_id)
    header = json.dumps(evidence.header(), indent=2, ensure_ascii=False)
    with store.open_writer(key, "application/json") as out:
        out.write(header[: header.rindex("}")].rstrip().encode())
        out.write(b',\n  "items": [')
        for index, entry in enumerate(evidence.items()):
            out.write((("\n    " if index == 0 else ",\n    ") + json.dumps(entry, ensure_ascii=False)).encode())
        out.write(b"\n  ]\n}\n")
    return store.describe(key)


def write_report(store: BlobStore, campaign_id: str, operator: str, now: datetime) -> tuple[Evidence, str, str]:
    """Returns the evidence and where evidence.json and evidence.html are."""
    evidence = build_evidence(store, campaign_id, operator, now)
    json_location = write_evidence_json(store, evidence)
    key = evidence_html_key(campaign_id)
    store.put_bytes(key, evidence_html(evidence).encode(), "text/html; charset=utf-8")
    return evidence, json_location, store.describe(key)
