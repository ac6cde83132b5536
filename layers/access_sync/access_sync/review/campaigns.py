"""Reading a campaign back: campaign.json, its application records, and the decisions they carried out."""

from __future__ import annotations

from typing import NamedTuple

from pydantic import ValidationError

from access_sync.errors import ConfigurationError
from access_sync.review.items import Item, read_items
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


class Decided(NamedTuple):
    decision: str  # keep or revoke
    comment: str
    application: Application  # the first one that applied it


def applied_decisions(store: BlobStore, campaign_id: str) -> dict[str, Decided]:
    """item_id → its decision, from the copies of the applied decisions files (the first application wins;
    a later one cannot change it)."""
    decided: dict[str, Decided] = {}
    for application in applications(store, campaign_id):
        with read_items(store, applied_decisions_key(campaign_id, application.apply_id)) as rows:
            for _, item in rows:
                if isinstance(item, Item) and (decision := item.decision.strip().lower()):
                    decided.setdefault(item.item_id, Decided(decision, item.comment, application))
    return decided


def earlier_decisions(store: BlobStore, campaign_id: str) -> dict[str, str]:
    return {item: decided.decision for item, decided in applied_decisions(store, campaign_id).items()}
