"""The JSON files of a campaign (docs/reviews.md): campaign.json and one record per application of decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Scope = Literal["all", "privileged"]
SnapshotUse = Literal["items", "person_status", "verification"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def to_json(self) -> bytes:
        return self.model_dump_json(indent=2).encode() + b"\n"


class SnapshotUsed(_Record):
    """A complete snapshot a campaign read, pinned by the sha256 of its stored manifest.json."""

    connector: str
    sync_id: str
    path: str
    started_at: str
    completed_at: str
    manifest_sha256: str
    used_for: list[SnapshotUse]


class FindingsUsed(_Record):
    run_id: str
    path: str
    completed_at: str
    manifest_sha256: str | None = None


class Campaign(_Record):
    format: Literal["access-sync.review"] = "access-sync.review"
    version: Literal[1] = 1
    campaign_id: str
    created_at: str
    created_by: str
    scope: Scope
    connectors: list[str]
    snapshots: list[SnapshotUsed]
    findings: FindingsUsed | None
    privileged_entitlements: list[str]
    items: int
    items_by_connector: dict[str, int]
    items_sha256: str
    page_lists_items: bool  # False when the scope is too large for review.html: decide in items.csv instead
    notes: list[str]

    def snapshot_for(self, connector: str) -> SnapshotUsed | None:
        return next((s for s in self.snapshots if s.connector == connector and "items" in s.used_for), None)


class DecisionsFile(_Record):
    name: str
    sha256: str
    rows: int


class Application(_Record):
    """One `review apply` of one decisions file: who, when, and what it asked for. Outcomes are the provisioning
    results (provisioning/results/review:<campaign>:<item>.json), which the report reads."""

    format: Literal["access-sync.review-application"] = "access-sync.review-application"
    version: Literal[1] = 1
    apply_id: str
    campaign_id: str
    applied_by: str
    applied_at: str
    completed_at: str | None = None
    mode: Literal["carried_out", "queued"]
    decisions_file: DecisionsFile
    counts: dict[str, int]
    outcomes: dict[str, int] = {}
    repeats: list[dict[str, str]] = []  # the same file applied again: by whom and when (nothing changed twice)
