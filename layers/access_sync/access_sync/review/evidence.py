"""`review report`: per item, the decision, who applied it and when, the outcome, and what the newest snapshot says.

Verification against the newest complete snapshot of each reviewed connector:

| decision | state               | when                                                                        |
|----------|---------------------|-----------------------------------------------------------------------------|
| revoke   | `verified`          | a snapshot newer than the campaign's no longer has the grant                 |
| revoke   | `not_removed`       | a snapshot started after the revoke was carried out still has it             |
| revoke   | `pending`           | no such snapshot yet (or the request is still queued)                        |
| keep     | `kept`              | the newest snapshot has the grant                                            |
| keep     | `removed_elsewhere` | the newest snapshot no longer has it                                         |

Memory stays at what the decided items need (their grant ids, decisions and outcomes); items.csv is read
twice (once to count, once to write) and the newest grants are streamed once.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pydantic import ValidationError

from access_sync.models.provisioning import ProvisioningOutcome, outcome_file_name, outcome_key
from access_sync.review.campaigns import (
    DECISION_CODES,
    DECISION_NAMES,
    AppliedDecisions,
    applied_decisions,
    item_key,
    load_campaign,
)
from access_sync.review.decisions import verify_items
from access_sync.review.items import Item, read_items
from access_sync.review.layout import item_id, items_key, request_id
from access_sync.review.records import Application, Campaign, SnapshotUsed
from access_sync.review.start import snapshot_used
from access_sync.snapshot.layout import iso_now
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import BlobStore

VERIFICATION_STATES = ("verified", "pending", "not_removed", "kept", "removed_elsewhere")
LISTED_MAX = 2_000  # items per list in evidence.html; evidence.json always has every item


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _latest_instant(text: str) -> datetime:
    """The latest moment a time written to the second can stand for: outcomes are stamped to the second."""
    instant = _instant(text)
    return instant if instant.microsecond or "." in text else instant + timedelta(seconds=1)


class _Newest(NamedTuple):
    snapshot: SnapshotUsed
    newer: bool  # newer than the snapshot the campaign reviewed


class Outcome(NamedTuple):
    """What the report keeps of a provisioning outcome (one per revoke, so small)."""

    status: str
    message: str
    completed_at: str
    attempts: int


PRESENT = 4  # the bit of AppliedDecisions.codes that marks a grant the newest snapshot still has


def verification(decision: str, outcome: Outcome | None, newest: _Newest | None, present: bool) -> str:
    if not decision or newest is None:
        return ""
    if decision == "keep":
        return "kept" if present else "removed_elsewhere"
    if not newest.newer:
        return "pending"
    if not present:
        return "verified"
    # Still there is only a failure once the snapshot surely began after the change; until then it may predate it.
    if outcome and _instant(newest.snapshot.started_at) >= _latest_instant(outcome.completed_at):
        return "not_removed"
    return "pending"


@dataclass
class Summary:
    """The counts, and the items a person must look at: every manual task (Gusto admins: a handful) and the
    first LISTED_MAX exceptions and decided items (all of them are in evidence.json)."""

    items: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    verification: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    manual_tasks: list[dict[str, Any]] = field(default_factory=list)
    exceptions: int = 0  # not removed, removed elsewhere, failed or rejected
    listed_exceptions: list[dict[str, Any]] = field(default_factory=list)
    decided: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "decisions": {name: self.decisions[name] for name in ("revoke", "keep", "undecided")},
            "verification": {name: self.verification[name] for name in VERIFICATION_STATES},
            "outcomes": dict(sorted(self.outcomes.items())),
            "manual_tasks": len(self.manual_tasks),
            "exceptions": self.exceptions,
        }

    def count(self, entry: dict[str, Any]) -> None:
        decision, state = entry["decision"], entry["verification"]
        status = (entry["outcome"] or {}).get("status") or ("queued" if decision == "revoke" else "")
        self.items += 1
        self.decisions[decision or "undecided"] += 1
        if state:
            self.verification[state] += 1
        if status:
            self.outcomes[status] += 1
        if status == "unsupported":
            self.manual_tasks.append(entry)
        elif state in ("not_removed", "removed_elsewhere") or status in ("failed", "rejected"):
            self.exceptions += 1
            if len(self.listed_exceptions) < LISTED_MAX:
                self.listed_exceptions.append(entry)
        if decision and len(self.decided) < LISTED_MAX:
            self.decided.append(entry)


@dataclass
class Evidence:
    """Everything the report states, with the items as a stream (they are too many to hold)."""

    campaign: Campaign
    generated_at: str
    generated_by: str
    snapshots: list[dict[str, Any]]
    applied: AppliedDecisions
    summary: Summary
    store: BlobStore
    outcomes: dict[int, Outcome]
    newest: dict[str, _Newest]

    @property
    def applications(self) -> list[Application]:
        return self.applied.applications

    def items(self) -> Iterator[dict[str, Any]]:
        with read_items(self.store, items_key(self.campaign.campaign_id)) as rows:
            for _, item in rows:
                if isinstance(item, Item):
                    yield self._entry(item)

    def _entry(self, item: Item) -> dict[str, Any]:
        key = item_key(item.item_id)
        code = self.applied.codes.get(key, 0)
        decision = DECISION_NAMES[code & 3]
        application = self.applied.applications[code >> 3] if decision else None
        outcome = self.outcomes.get(key)
        newest = self.newest.get(item.connector)
        return {
            "item_id": item.item_id,
            "connector": item.connector,
            "account_id": item.account_id,
            "account_name": item.account_name,
            "account_email": item.account_email,
            "person_status": item.person_status,
            "entitlement_id": item.entitlement_id,
            "entitlement_name": item.entitlement_name,
            "resource_name": item.resource_name,
            "findings": item.findings,
            "reviewer": item.reviewer,
            "decision": decision,
            "comment": self.applied.comments.get(key, ""),
            "apply_id": application.apply_id if application else None,
            "applied_by": application.applied_by if application else None,
            "applied_at": application.applied_at if application else None,
            "request_id": request_id(self.campaign.campaign_id, item.item_id) if decision == "revoke" else None,
            "outcome": outcome._asdict() if outcome else None,
            "verification": verification(decision, outcome, newest, bool(code & PRESENT)),
            "checked_against": newest.snapshot.sync_id if newest and decision else None,
        }

    def header(self) -> dict[str, Any]:
        campaign = self.campaign
        return {
            "format": "access-sync.review-evidence",
            "version": 1,
            "campaign": campaign.model_dump(
                include={
                    "campaign_id",
                    "created_at",
                    "created_by",
                    "scope",
                    "connectors",
                    "items",
                    "items_sha256",
                    "privileged_entitlements",
                    "notes",
                }
            ),
            "generated_at": self.generated_at,
            "generated_by": self.generated_by,
            "snapshots": self.snapshots,
            "findings": campaign.findings.model_dump() if campaign.findings else None,
            "applications": [
                application.model_dump(exclude={"format", "version"}) for application in self.applications
            ],
            "summary": self.summary.as_dict(),
            "manual_tasks": [_manual_task(entry) for entry in self.summary.manual_tasks],
        }


def _manual_task(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_id": entry["item_id"],
        "connector": entry["connector"],
        "account": f"{entry['account_name']} <{entry['account_email']}>"
        if entry["account_email"]
        else entry["account_name"],
        "entitlement": entry["entitlement_name"],
        "resource": entry["resource_name"],
        "what_to_do": entry["outcome"]["message"],
        "verification": entry["verification"],
    }


def _outcome(store: BlobStore, campaign_id: str, item: str) -> Outcome | None:
    raw = store.get_bytes(outcome_key(outcome_file_name(request_id(campaign_id, item))))
    if raw is None:
        return None
    try:
        outcome = ProvisioningOutcome.model_validate_json(raw)
    except ValidationError:
        return None
    return Outcome(outcome.status, outcome.message, outcome.completed_at, outcome.attempts)


def _snapshots_with_integrity(store: BlobStore, campaign: Campaign, newest: dict[str, _Newest]) -> list[dict[str, Any]]:
    """Every snapshot the campaign and this report used, each with whether its stored manifest still hashes the
    same."""
    listed = []
    for used in campaign.snapshots:
        stored = store.get_bytes(f"{used.path}/manifest.json")
        intact = None if stored is None else hashlib.sha256(stored).hexdigest() == used.manifest_sha256
        listed.append({**used.model_dump(), "manifest_intact": intact})
    for entry in newest.values():
        same = next((s for s in listed if s["sync_id"] == entry.snapshot.sync_id), None)
        if same is not None:
            same["used_for"] = [*same["used_for"], "verification"]
        else:
            listed.append({**entry.snapshot.model_dump(), "manifest_intact": True})
    return listed


def _newest(store: BlobStore, campaign: Campaign, applied: AppliedDecisions) -> dict[str, _Newest]:
    """The newest snapshot of each reviewed connector; marks (PRESENT) every decided grant it still has."""
    found = {}
    for connector in campaign.connectors:
        reader = SnapshotReader.latest(store, connector)
        reviewed = campaign.snapshot_for(connector)
        if reader is None or reviewed is None:
            continue
        if applied.codes:
            for grant in reader.records("grants"):
                key = item_key(item_id(grant["id"]))
                if key in applied.codes:
                    applied.codes[key] |= PRESENT
        # One sync per connector runs at a time, so another latest snapshot began after the reviewed one ended.
        newer = reader.manifest.sync_id != reviewed.sync_id and _instant(reader.manifest.started_at) >= _instant(
            reviewed.started_at
        )
        found[connector] = _Newest(snapshot_used(store, reader, ["verification"]), newer)
    return found


def _revoked_items(store: BlobStore, campaign_id: str, applied: AppliedDecisions) -> Iterator[str]:
    with read_items(store, items_key(campaign_id)) as rows:
        for _, item in rows:
            if isinstance(item, Item) and applied.codes.get(item_key(item.item_id), 0) & 3 == DECISION_CODES["revoke"]:
                yield item.item_id


def build_evidence(store: BlobStore, campaign_id: str, operator: str, now: datetime) -> Evidence:
    campaign = load_campaign(store, campaign_id)
    verify_items(store, campaign)
    applied = applied_decisions(store, campaign_id)
    outcomes = {
        item_key(item): outcome
        for item in _revoked_items(store, campaign_id, applied)
        if (outcome := _outcome(store, campaign_id, item)) is not None
    }
    newest = _newest(store, campaign, applied)
    evidence = Evidence(
        campaign=campaign,
        generated_at=iso_now(now),
        generated_by=operator,
        snapshots=_snapshots_with_integrity(store, campaign, newest),
        applied=applied,
        summary=Summary(),
        store=store,
        outcomes=outcomes,
        newest=newest,
    )
    for entry in evidence.items():
        evidence.summary.count(entry)
    return evidence
