"""One sync invocation: start or resume, let the connector write, then complete the snapshot or checkpoint it.

Completion order is the contract of docs/snapshot-format.md: record files, then manifest.json, then
latest.json. Anything that fails before the manifest leaves latest.json untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from access_sync.models.events import SyncEvent, SyncResult
from access_sync.models.snapshot import Counts, LatestPointer, Manifest, Source
from access_sync.observability import logger
from access_sync.snapshot.layout import checkpoint_key, iso_now, latest_key, new_sync_id, snapshot_folder
from access_sync.snapshot.writer import RecordSink, SnapshotWriter, WriterState
from access_sync.stores.blob import BlobStore
from access_sync.sync.connector import SyncConnector, SyncContext
from access_sync.sync.deadline import Deadline

Clock = Callable[[], datetime]
ProgressCallback = Callable[[dict[str, int]], None]


class Checkpoint(BaseModel):
    connector: str
    sync_id: str
    started_at: str
    saved_at: str
    invocations: int
    requests: int
    state: dict[str, Any]
    writer: WriterState


def utc_now() -> datetime:
    return datetime.now(UTC)


class _ProgressSink:
    """Counts records on their way to the writer and reports at most twice a second."""

    def __init__(self, inner: SnapshotWriter, report: ProgressCallback) -> None:
        self.inner, self.report = inner, report
        self.counts = {"resources": 0, "entitlements": 0, "grants": 0}
        self._last = 0.0

    def _tick(self, kind: str) -> None:
        self.counts[kind] += 1
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            self.report(dict(self.counts))

    def resource(self, record: Any) -> None:
        self.inner.resource(record)
        self._tick("resources")

    def entitlement(self, record: Any) -> None:
        self.inner.entitlement(record)
        self._tick("entitlements")

    def grant(self, record: Any) -> None:
        self.inner.grant(record)
        self._tick("grants")

    def grant_to(self, entitlement: str, principal_type: str, principal_id: str) -> None:
        self.inner.grant_to(entitlement, principal_type, principal_id)
        self._tick("grants")


def _load_checkpoint(store: BlobStore, event: SyncEvent, max_age: float, now: datetime) -> Checkpoint | None:
    if not event.resumes or event.sync_id is None:
        return None
    raw = store.get_bytes(checkpoint_key(event.connector, event.sync_id))
    if raw is None:
        logger.warning("checkpoint not found; starting a fresh sync", extra={"sync_id": event.sync_id})
        return None
    try:
        checkpoint = Checkpoint.model_validate_json(raw)
    except ValidationError:
        logger.warning("checkpoint unreadable; starting a fresh sync", extra={"sync_id": event.sync_id})
        return None
    age = (now - datetime.fromisoformat(checkpoint.saved_at)).total_seconds()
    if age > max_age:
        logger.warning(
            "checkpoint too old; starting a fresh sync",
            extra={"sync_id": event.sync_id, "age_seconds": int(age)},
        )
        store.delete(checkpoint_key(event.connector, event.sync_id))
        return None
    return checkpoint


def run_sync(
    connector: SyncConnector,
    store: BlobStore,
    event: SyncEvent,
    *,
    deadline: Deadline | None = None,
    checkpoint_max_age: float = 86400,
    clock: Clock = utc_now,
    progress: ProgressCallback | None = None,
) -> SyncResult:
    started = time.monotonic()
    now = clock()
    checkpoint = _load_checkpoint(store, event, checkpoint_max_age, now)
    if checkpoint:
        sync_id, started_at, state = checkpoint.sync_id, checkpoint.started_at, checkpoint.state
        previous_requests, invocations = checkpoint.requests, checkpoint.invocations + 1
        writer_state: WriterState | None = checkpoint.writer
    else:
        sync_id, started_at, state = new_sync_id(now), iso_now(now), {}
        previous_requests, invocations, writer_state = 0, 1, None
    folder = snapshot_folder(connector.name, sync_id)
    writer = SnapshotWriter(store, folder, writer_state)
    sink: RecordSink = _ProgressSink(writer, progress) if progress else writer
    logger.set_correlation_id(sync_id)
    logger.append_keys(connector=connector.name)
    logger.info("sync started", extra={"resumed": checkpoint is not None, "invocation": invocations})

    ctx = SyncContext(sink=sink, deadline=deadline or Deadline.never(), state=state)
    try:
        finished = connector.sync(ctx)
    except BaseException:
        writer.abort()
        raise
    requests = previous_requests + connector.requests
    common = {
        "connector": connector.name,
        "sync_id": sync_id,
        "trigger": event.trigger,
        "scheduled_time": event.scheduled_time,
        "execution_id": event.execution_id,
        "requests": requests,
        "invocations": invocations,
        "resumed_from_checkpoint": checkpoint is not None,
    }
    if not finished:
        saved = Checkpoint(
            connector=connector.name,
            sync_id=sync_id,
            started_at=started_at,
            saved_at=clock().isoformat(),
            invocations=invocations,
            requests=requests,
            state=ctx.state,
            writer=writer.checkpoint(),
        )
        store.put_bytes(checkpoint_key(connector.name, sync_id), saved.model_dump_json().encode())
        logger.info("sync checkpointed; it will resume in the next invocation")
        return SyncResult(
            status="in_progress",
            location=store.describe(folder),
            duration_seconds=round(time.monotonic() - started, 3),
            **common,
        )

    files = writer.finish()
    counts = Counts(
        resources=writer.resource_counts,
        entitlements=files["entitlements.jsonl.gz"].records,
        grants=files["grants.jsonl.gz"].records,
    )
    completed_at = iso_now(clock())
    manifest = Manifest(
        connector=connector.name,
        sync_id=sync_id,
        started_at=started_at,
        completed_at=completed_at,
        counts=counts,
        files=files,
        resource_types=connector.resource_types,
        source=Source(base_url=connector.base_url, requests=requests),
        invocations=invocations,
    )
    store.put_bytes(f"{folder}/manifest.json", manifest.model_dump_json(indent=2).encode())
    pointer = LatestPointer(sync_id=sync_id, path=folder, completed_at=completed_at)
    store.put_bytes(latest_key(connector.name), pointer.model_dump_json(indent=2).encode())
    if checkpoint:
        store.delete(checkpoint_key(connector.name, sync_id))
    logger.info("sync complete", extra={"counts": counts.model_dump(), "requests": requests})
    return SyncResult(
        status="complete",
        snapshot=folder,
        location=store.describe(folder),
        counts=counts,
        duration_seconds=round(time.monotonic() - started, 3),
        **common,
    )
