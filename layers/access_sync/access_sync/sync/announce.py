"""Telling the world about a complete snapshot: its catalog partitions, a Snapshot Completed event and one
Access Changed event per change (capped). Runs after latest.json moved; running it twice is harmless (a
partition already there stays, and an event repeated after a crash carries the same sync_id and id)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from access_sync.models.snapshot import KINDS, Manifest
from access_sync.observability import logger
from access_sync.snapshot.layout import snapshot_folder, sync_date
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import BlobStore
from access_sync.stores.glue import Partition


class PartitionCatalog(Protocol):
    def add_partitions(self, table: str, partitions: Sequence[Partition]) -> None: ...


class EventSink(Protocol):
    def publish(self, detail: dict[str, Any]) -> None: ...

    def publish_all(self, details: Iterable[dict[str, Any]]) -> None: ...


@dataclass
class SnapshotAnnouncer:
    """Each part is optional: a stack without a catalog or an event bus announces what it can."""

    catalog: PartitionCatalog | None = None
    completed: EventSink | None = None  # detail type "Snapshot Completed"
    changed: EventSink | None = None  # detail type "Access Changed"
    max_change_events: int = 500

    def published(self, store: BlobStore, manifest: Manifest) -> None:
        reader = SnapshotReader(store, snapshot_folder(manifest.connector, manifest.sync_id))
        if self.catalog is not None:
            self._register(store, reader)
        if self.completed is not None:
            self.completed.publish(completed_detail(store, manifest))
        if self.changed is not None:
            self.changed.publish_all(change_details(reader, self.max_change_events))

    def _register(self, store: BlobStore, reader: SnapshotReader) -> None:
        """The snapshot's partitions, and its baseline's again: a baseline whose own registration failed after
        its manifest was written (Glue unavailable, say) becomes visible this way one sync later."""
        assert self.catalog is not None
        snapshots = [reader]
        baseline = reader.baseline()
        if baseline is not None and baseline.manifest.version == reader.manifest.version:
            snapshots.append(baseline)
        for kind in KINDS:
            self.catalog.add_partitions(kind, [_partition(store, snapshot, kind) for snapshot in snapshots])
        logger.info("snapshot partitions registered", extra={"sync_id": reader.manifest.sync_id})


def _partition(store: BlobStore, snapshot: SnapshotReader, kind: str) -> Partition:
    manifest = snapshot.manifest
    values = [manifest.connector, sync_date(manifest.sync_id), manifest.sync_id]
    # A folder's location ends with "/", so that it cannot be read as a prefix of its neighbours' names.
    return Partition(values=values, location=store.describe(f"{snapshot.folder}/{kind}").rstrip("/") + "/")


def completed_detail(store: BlobStore, manifest: Manifest) -> dict[str, Any]:
    folder = snapshot_folder(manifest.connector, manifest.sync_id)
    return {
        "connector": manifest.connector,
        "sync_id": manifest.sync_id,
        "path": folder,
        "location": store.describe(folder),
        "completed_at": manifest.completed_at,
        "counts": manifest.counts.model_dump(),
        "changes": manifest.changes.model_dump() if manifest.changes else None,
    }


def change_details(reader: SnapshotReader, limit: int) -> Iterator[dict[str, Any]]:
    """One detail per change record, at most `limit`, then one saying how many were left out."""
    manifest = reader.manifest
    about = {"connector": manifest.connector, "sync_id": manifest.sync_id}
    for line in islice(reader.lines("changes"), limit):
        yield {**about, **json.loads(line)}
    total = manifest.changes.total if manifest.changes else 0
    if total > limit:
        yield {**about, "left_out": total - limit, "changes": total, "path": reader.folder}
