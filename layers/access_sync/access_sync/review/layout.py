"""Where a campaign's files live under DEST (docs/reviews.md). Keys only, no I/O."""

from __future__ import annotations

import hashlib

REVIEWS_PREFIX = "reviews"
PRIVILEGED_CONFIG = "config/privileged.json"
FINDINGS_LATEST = "findings/latest.json"


def campaign_folder(campaign_id: str) -> str:
    return f"{REVIEWS_PREFIX}/{campaign_id}"


def campaign_key(campaign_id: str) -> str:
    return f"{campaign_folder(campaign_id)}/campaign.json"


def items_key(campaign_id: str) -> str:
    return f"{campaign_folder(campaign_id)}/items.csv"


def page_key(campaign_id: str) -> str:
    return f"{campaign_folder(campaign_id)}/review.html"


def applications_prefix(campaign_id: str) -> str:
    return f"{campaign_folder(campaign_id)}/applied/"


def application_key(campaign_id: str, apply_id: str) -> str:
    return f"{applications_prefix(campaign_id)}{apply_id}.json"


def applied_decisions_key(campaign_id: str, apply_id: str) -> str:
    return f"{applications_prefix(campaign_id)}{apply_id}.decisions.csv"


def evidence_json_key(campaign_id: str) -> str:
    return f"{campaign_folder(campaign_id)}/evidence.json"


def evidence_html_key(campaign_id: str) -> str:
    return f"{campaign_folder(campaign_id)}/evidence.html"


def item_id(grant_id: str) -> str:
    """The first 16 hex digits of sha256 of the grant id: stable across campaigns for the same grant."""
    return hashlib.sha256(grant_id.encode()).hexdigest()[:16]


def request_id(campaign_id: str, item: str) -> str:
    """The provisioning request id of a revoke decision: one per campaign and item, so a repeat changes nothing."""
    return f"review:{campaign_id}:{item}"
