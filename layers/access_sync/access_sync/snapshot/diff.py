"""What changed between two snapshots of one connector: accounts, status and access, by id.

Only ids and statuses are kept in memory (a few dozen bytes per record), never whole records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from access_sync.models import ids
from access_sync.snapshot.reader import SnapshotReader


@dataclass
class SnapshotDiff:
    added_resources: list[str] = field(default_factory=list)
    removed_resources: list[str] = field(default_factory=list)
    status_changes: list[tuple[str, str, str]] = field(default_factory=list)
    added_grants: list[str] = field(default_factory=list)
    removed_grants: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.added_resources
            or self.removed_resources
            or self.status_changes
            or self.added_grants
            or self.removed_grants
        )


def _statuses(reader: SnapshotReader) -> dict[str, str]:
    return {ids.resource_key(r["resource_type"], r["id"]): r["status"] for r in reader.records("resources")}


def diff_snapshots(before: SnapshotReader, after: SnapshotReader) -> SnapshotDiff:
    old, new = _statuses(before), _statuses(after)
    old_grants = {g["id"] for g in before.records("grants")}
    new_grants = {g["id"] for g in after.records("grants")}
    return SnapshotDiff(
        added_resources=sorted(new.keys() - old.keys()),
        removed_resources=sorted(old.keys() - new.keys()),
        status_changes=sorted((key, old[key], new[key]) for key in old.keys() & new.keys() if old[key] != new[key]),
        added_grants=sorted(new_grants - old_grants),
        removed_grants=sorted(old_grants - new_grants),
    )
