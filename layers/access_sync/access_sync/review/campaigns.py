"""Reading a campaign back: campaign.json, its application records, and the decisions they carried out."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from access_sync.errors import ConfigurationError
from access_sync.review.items import ITEM_ID_LENGTH, Item, read_items
from access_sync.review.layout import applications_prefix, applied_decisions_key, campaign_key
from access_sync.review.records import Application, Campaign
from access_sync.stores.blob import BlobStore


def load_campaign(store: BlobStore, campaign_id: str) -> Campaign:
    if not campaign_id or "/" in campaign_id or campaign_id.startswith("."):
        raise ConfigurationError(f"{campaign_id!r} is not a campaign id (it looks like 20261201T081425123Z-9b54ddbd).")
    raw = store.get_bytes(campaign_key(campaign_id))
    if raw is None:
        raise ConfigurationError(
            f"There is no campaign {campaign_id} in {store.describe()}; `access-sync review start` prints the id."
        )
    try:
        return Campaign.model_validate_json(raw)
    except ValidationError:
        raise ConfigurationError(f"{store.describe(campaign_key(campaign_id))} is not a campaign file.") from None


def applications(store: BlobStore, campaign_id: str) -> list[Application]:
    """Every application record of the campaign, oldest first."""
    found = []
    for key in sorted(store.list_keys(applications_prefix(campaign_id))):
        if key.endswith(".json"):
            raw = store.get_bytes(key)
            if raw is not None:
                found.append(Application.model_validate_json(raw))
    return sorted(found, key=lambda application: application.apply_id)


def item_key(item_id: str) -> int:
    """An item id (16 hex digits) as a number, which takes a third of the memory; -1 for anything else."""
    if len(item_id) != ITEM_ID_LENGTH:
        return -1
    try:
        return int(item_id, 16)
    except ValueError:
        return -1


@dataclass
class AppliedDecisions:
    """Every decision applied so far, compactly: 600,000 of them fit in a few tens of megabytes.

    `codes[item]` = decision (1 keep, 2 revoke) | the index of the first application that applied it << 3;
    bit 2 is left for callers that mark items (the report marks the grants the newest snapshot still has).
    """

    applications: list[Application]
    codes: dict[int, int] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)

    def decision(self, item_id: str) -> str:
        return DECISION_NAMES[self.codes.get(item_key(item_id), 0) & 3]

    def application(self, item_id: str) -> Application | None:
        code = self.codes.get(item_key(item_id))
        return self.applications[code >> 3] if code else None


DECISION_NAMES = ("", "keep", "revoke", "")
DECISION_CODES = {"keep": 1, "revoke": 2}


def applied_decisions(store: BlobStore, campaign_id: str) -> AppliedDecisions:
    """From the copies of the applied decisions files; the first application of an item wins (a later one
    cannot change it)."""
    applied = AppliedDecisions(applications(store, campaign_id))
    for index, application in enumerate(applied.applications):
        with read_items(store, applied_decisions_key(campaign_id, application.apply_id)) as rows:
            for _, item in rows:
                code = DECISION_CODES.get(item.decision.strip().lower()) if isinstance(item, Item) else None
                if code is None or not isinstance(item, Item) or (key := item_key(item.item_id)) in applied.codes:
                    continue
                applied.codes[key] = code | index << 3
                if item.comment:
                    applied.comments[key] = item.comment
    return applied
