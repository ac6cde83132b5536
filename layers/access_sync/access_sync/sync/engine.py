"""One sync invocation: start or resume, let the connector write, then complete the snapshot or checkpoint it.

Completion order is the contract of docs/snapshot-format.md: record parts, then the changes since the baseline,
then manifest.json, then latest.json, then the announcements (catalog partitions, events), then the work files
go. Anything that fails before the manifest leaves latest.json untouched; a sync resumed after its manifest
was written only finishes what came after it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from access_sync.models.snapshot import RECORD_KINDS, Counts, FileInfo, LatestPointer, Manifest, Source
from access_sync.models.sync_events import SyncEvent, SyncResult
from access_sync.observability import logger
from access_sync.snapshot.changes import LineSource, write_changes
from access_sync.snapshot.layout import (
    checkpoint_key,
    checkpoints_prefix,
    iso_millis,
    latest_key,
    new_sync_id,
    segments_prefix,
    snapshot_folder,
    sync_started,
)
from access_sync.snapshot.reader import SnapshotReader, read_lines
from access_sync.snapshot.unchanged import UnchangedFilter
from access_sync.snapshot.writer import RecordSink, SnapshotWriter, WriterState
from access_sync.stores.blob import BlobStore
from access_sync.sync.connector import StateT, SyncConnector, SyncContext
from access_sync.sync.deadline import Deadline

Clock = Callable[[], datetime]
ProgressCallback = Callable[[dict[str, int]], None]


CHECKPOINT_FORMAT = 3


class Checkpoint(BaseModel):
    format: int = CHECKPOINT_FORMAT
    connector: str
    sync_id: str
    started_at: str
    saved_at: str
    invocations: int
    requests: int
    state: dict[str, Any]
    writer: WriterState
    # What latest.json named when the sync started: its changes are counted from there, however long it runs.
    baseline: LatestPointer | None


class SnapshotPublisher(Protocol):
    """Announces a complete snapshot (catalog partitions, events); called after latest.json moved. Doing it
    twice for one snapshot must be harmless: a sync resumed after its manifest was written calls it again."""

    def published(self, store: BlobStore, manifest: Manifest) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class _ProgressSink:
    """Counts records on their way to the writer and reports at most twice a second."""

    def __init__(self, inner: SnapshotWriter, report: ProgressCallback) -> None:
        self.inner, self.report = inner, report
        self.counts = {"resources": 0, "entitlements": 0, "grants": 0}
        self._last = 0.0

    def _tick(self, kind: str, records: int = 1) -> None:
        self.counts[kind] += records
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            self.report(dict(self.counts))

    def resource(self, record: Any) -> None:
        self.inner.resource(record)
        self._tick("resources")

    def resource_line(self, resource_type: str, line: bytes) -> None:
        self.inner.resource_line(resource_type, line)
        self._tick("resources")

    def resource_lines(self, resource_type: str, lines: list[bytes]) -> None:
        self.inner.resource_lines(resource_type, lines)
        self._tick("resources", len(lines))

    def entitlement(self, record: Any) -> None:
        self.inner.entitlement(record)
        self._tick("entitlements")

    def grant(self, record: Any) -> None:
        self.inner.grant(record)
        self._tick("grants")

    def grant_to(self, entitlement: str, principal_type: str, principal_id: str) -> None:
        self.inner.grant_to(entitlement, principal_type, principal_id)
        self._tick("grants")


@contextmanager
def _collector_spared() -> Iterator[None]:
    """Keeps the objects that exist when a sync starts (imported modules, clients: tens of thousands) out of
    the garbage collector's way until it ends; it decorates `run_sync`, as any context manager can. A sync
    allocates a great many short-lived objects (parsed pages, records), and every older-generation
    collection they trigger would scan those again; frozen, they are skipped, and once unfrozen they are
    collected as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _checkpoint_age(checkpoint: Checkpoint, now: datetime) -> float | None:
    try:
        saved = datetime.fromisoformat(checkpoint.saved_at)
    except ValueError:
        return None
    return (now - (saved if saved.tzinfo else saved.replace(tzinfo=UTC))).total_seconds()


def _load_checkpoint(
    store: BlobStore, connector: SyncConnector[StateT], event: SyncEvent, max_age: float, now: datetime
) -> tuple[Checkpoint, StateT] | None:
    if not event.resumes or event.sync_id is None:
        return None
    key = checkpoint_key(event.connector, event.sync_id)
    raw = store.get_bytes(key)
    if raw is None:
        logger.warning("checkpoint not found; starting a fresh sync", extra={"sync_id": event.sync_id})
        return None
    try:
        checkpoint = Checkpoint.model_validate_json(raw)
        state = connector.state_model.model_validate(checkpoint.state)
        age = _checkpoint_age(checkpoint, now)
        if checkpoint.format != CHECKPOINT_FORMAT or checkpoint.sync_id != event.sync_id or age is None:
            raise ValueError("not this sync's checkpoint")
    except (ValidationError, ValueError):
        # Written by another version, or changed by hand: resuming from it could yield wrong records.
        logger.warning("checkpoint unreadable; starting a fresh sync", extra={"sync_id": event.sync_id})
        _discard_work(store, event.connector, event.sync_id)
        return None
    if age > max_age:
        logger.warning(
            "checkpoint too old; starting a fresh sync",
            extra={"sync_id": event.sync_id, "age_seconds": int(age)},
        )
        _discard_work(store, event.connector, event.sync_id)
        return None
    return checkpoint, state


def _discard_work(store: BlobStore, connector: str, sync_id: str) -> None:
    store.delete_prefix(segments_prefix(connector, sync_id))
    store.delete(checkpoint_key(connector, sync_id))


def sweep_abandoned_work(store: BlobStore, connector: str, now: datetime, max_age: float) -> int:
    """Removes the work files of syncs that started more than `max_age` ago and never completed (killed or
    failed); returns how many syncs it cleaned up. Younger ones may still be running, so they stay."""
    abandoned: set[str] = set()
    for prefix in (checkpoints_prefix(connector), segments_prefix(connector)):
        for key in store.list_keys(prefix):
            sync_id = key[len(prefix) :].split("/", 1)[0].removesuffix(".json")
            started = sync_started(sync_id)
            if started is not None and (now - started).total_seconds() > max_age:
                abandoned.add(sync_id)
    for sync_id in sorted(abandoned):
        _discard_work(store, connector, sync_id)
    if abandoned:
        logger.info("removed the work files of abandoned syncs", extra={"syncs": len(abandoned)})
    return len(abandoned)


@_collector_spared()
def run_sync(
    connector: SyncConnector[StateT],
    store: BlobStore,
    event: SyncEvent,
    *,
    deadline: Deadline | None = None,
    checkpoint_max_age: float = 86400,
    clock: Clock = utc_now,
    progress: ProgressCallback | None = None,
    publisher: SnapshotPublisher | None = None,
) -> SyncResult:
    started = time.monotonic()
    now = clock()
    loaded = _load_checkpoint(store, connector, event, checkpoint_max_age, now)
    checkpoint: Checkpoint | None = None
    if loaded is not None:
        checkpoint, state = loaded
        sync_id, started_at, baseline = checkpoint.sync_id, checkpoint.started_at, checkpoint.baseline
        previous_requests, invocations = checkpoint.requests, checkpoint.invocations + 1
        writer_state: WriterState | None = checkpoint.writer
    else:
        sweep_abandoned_work(store, connector.name, now, checkpoint_max_age)
        sync_id, started_at, state = new_sync_id(now), iso_millis(now), connector.state_model()
        baseline = _latest_pointer(store, connector.name)
        previous_requests, invocations, writer_state = 0, 1, None
    folder = snapshot_folder(connector.name, sync_id)
    if checkpoint and (done := _completed(store, folder)):
        logger.info("sync was already complete; finishing what came after its manifest", extra={"sync_id": sync_id})
        _announce(store, done, folder, publisher)
        _discard_work(store, connector.name, sync_id)
        return _result(done, store, event, checkpoint.invocations, time.monotonic() - started)
    writer = SnapshotWriter(store, folder, segments_prefix(connector.name, sync_id), writer_state)
    sink: RecordSink = _ProgressSink(writer, progress) if progress else writer
    logger.set_correlation_id(sync_id)
    logger.append_keys(connector=connector.name)
    logger.info("sync started", extra={"resumed": checkpoint is not None, "invocation": invocations})

    base = _baseline_reader(store, baseline)
    # Set aside, as they are written, the records equal to the baseline's, so few go through the exact diff.
    unchanged = UnchangedFilter(base.lines, _record_counts(base.manifest), writer.written()) if base else None
    writer.observe = unchanged.observe if unchanged else None
    try:
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
                state=ctx.state.model_dump(mode="json"),
                writer=writer.checkpoint(),
                baseline=baseline,
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
        after = _parts_reader(store, folder, files)
        before: LineSource | None = base.lines if base else None
        if unchanged is not None and (candidates := unchanged.candidates(after)) is not None:
            before, after = candidates
        change_files, changes = write_changes(store, folder, before, after, base.manifest.sync_id if base else None)
        manifest = Manifest(
            connector=connector.name,
            sync_id=sync_id,
            started_at=started_at,
            completed_at=iso_millis(clock()),
            counts=Counts(
                resources=writer.resource_counts,
                entitlements=_records(files, "entitlements"),
                grants=_records(files, "grants"),
            ),
            files={**files, **change_files},
            resource_types=connector.resource_types,
            changes=changes,
            source=Source(base_url=connector.base_url, requests=requests),
            invocations=invocations,
        )
        store.put_bytes(f"{folder}/manifest.json", _one_line(manifest))
        _announce(store, manifest, folder, publisher)
        _discard_work(store, connector.name, sync_id)
        logger.info(
            "sync complete",
            extra={"counts": manifest.counts.model_dump(), "changes": changes.model_dump(), "requests": requests},
        )
        return _result(manifest, store, event, invocations, time.monotonic() - started, resumed=checkpoint is not None)
    finally:
        if unchanged is not None:
            unchanged.close()


def _one_line(model: BaseModel) -> bytes:
    return model.model_dump_json().encode() + b"\n"


def _latest_pointer(store: BlobStore, connector: str) -> LatestPointer | None:
    raw = store.get_bytes(latest_key(connector))
    return LatestPointer.model_validate_json(raw) if raw is not None else None


def _baseline_reader(store: BlobStore, baseline: LatestPointer | None) -> SnapshotReader | None:
    """The snapshot changes are counted from; none when the sync has no baseline or its snapshot has gone."""
    if baseline is None:
        return None
    try:
        return SnapshotReader(store, baseline.path)
    except FileNotFoundError:
        logger.warning("the baseline snapshot is gone; recording no changes", extra={"baseline": baseline.sync_id})
        return None


def _record_counts(manifest: Manifest) -> dict[str, int]:
    return {kind: _records(manifest.files, kind) for kind in RECORD_KINDS}


def _parts_reader(store: BlobStore, folder: str, files: dict[str, FileInfo]) -> LineSource:
    """The records of a snapshot whose manifest is not written yet."""
    return lambda kind: read_lines(store, folder, sorted(key for key in files if key.startswith(f"{kind}/")))


def _records(files: dict[str, FileInfo], kind: str) -> int:
    return sum(info.records for key, info in files.items() if key.startswith(f"{kind}/"))


def _announce(store: BlobStore, manifest: Manifest, folder: str, publisher: SnapshotPublisher | None) -> None:
    """latest.json moves forward only (a resumed sync may find it already moved), then the publisher runs."""
    current = _latest_pointer(store, manifest.connector)
    if current is None or current.sync_id < manifest.sync_id:
        pointer = LatestPointer(sync_id=manifest.sync_id, path=folder, completed_at=manifest.completed_at)
        store.put_bytes(latest_key(manifest.connector), _one_line(pointer))
    if publisher is not None:
        publisher.published(store, manifest)


def _completed(store: BlobStore, folder: str) -> Manifest | None:
    raw = store.get_bytes(f"{folder}/manifest.json")
    return Manifest.model_validate_json(raw) if raw is not None else None


def _result(
    manifest: Manifest, store: BlobStore, event: SyncEvent, invocations: int, duration: float, resumed: bool = True
) -> SyncResult:
    folder = snapshot_folder(manifest.connector, manifest.sync_id)
    return SyncResult(
        status="complete",
        connector=manifest.connector,
        sync_id=manifest.sync_id,
        trigger=event.trigger,
        scheduled_time=event.scheduled_time,
        execution_id=event.execution_id,
        snapshot=folder,
        location=store.describe(folder),
        counts=manifest.counts,
        changes=manifest.changes,
        requests=manifest.source.requests,
        invocations=invocations,
        duration_seconds=round(duration, 3),
        resumed_from_checkpoint=resumed,
    )
