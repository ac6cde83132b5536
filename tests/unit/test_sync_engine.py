"""The engine's contract: checkpoints, resumption and what happens to stale ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from access_sync.models.snapshot import FileInfo, Resource, ResourceType
from access_sync.models.sync_events import SyncEvent
from access_sync.snapshot.layout import checkpoint_key
from access_sync.snapshot.writer import KindState, SnapshotWriter
from access_sync.stores.blob import LocalBlobStore
from access_sync.sync.connector import SyncContext
from access_sync.sync.deadline import Deadline
from access_sync.sync.engine import run_sync
from tests.helpers import read_snapshot


class CountState(BaseModel):
    next: int = 0


class CountingConnector:
    """Writes `total` users, `per_call` per page, resumable through ctx.state."""

    name = "guru"
    base_url = "http://fake.test"
    resource_types = [ResourceType(id="user", display_name="User", traits=["user"])]
    state_model = CountState

    def __init__(self, total: int = 10) -> None:
        self.total = total
        self.requests = 0

    def sync(self, ctx: SyncContext[CountState]) -> bool:
        while ctx.state.next < self.total:
            i = ctx.state.next
            self.requests += 1
            ctx.sink.resource(Resource(resource_type="user", id=f"u{i}", display_name=f"U{i}"))
            ctx.state.next = i + 1
            if ctx.deadline.should_stop():
                return False
        return True

    def close(self) -> None:
        """Nothing to release."""


def stop_after(checks: int) -> Deadline:
    remaining = [100.0] * checks + [0.0]
    return Deadline(lambda: remaining.pop(0) if len(remaining) > 1 else remaining[0], margin=1.0)


def test_an_interrupted_sync_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    first = run_sync(CountingConnector(), store, SyncEvent(connector="guru"), deadline=stop_after(3))
    assert first.status == "in_progress"
    assert not (tmp_path / "snapshots/connector=guru/latest.json").exists()
    second = run_sync(CountingConnector(), store, SyncEvent.model_validate(first.model_dump()))
    assert second.status == "complete" and second.sync_id == first.sync_id and second.invocations == 2
    snapshot = read_snapshot(tmp_path, "guru")
    assert [r["id"] for r in snapshot["resources"]] == [f"u{i}" for i in range(10)]
    assert snapshot["manifest"]["source"]["requests"] == 10
    assert not (tmp_path / checkpoint_key("guru", first.sync_id)).exists()


def test_a_checkpoint_older_than_the_limit_is_discarded_and_the_sync_starts_afresh(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    first = run_sync(CountingConnector(), store, SyncEvent(connector="guru"), deadline=stop_after(3), clock=lambda: now)
    later = now + timedelta(hours=25)
    second = run_sync(
        CountingConnector(),
        store,
        SyncEvent.model_validate(first.model_dump()),
        clock=lambda: later,
        checkpoint_max_age=24 * 3600,
    )
    assert second.status == "complete" and second.sync_id != first.sync_id and not second.resumed_from_checkpoint
    assert len(read_snapshot(tmp_path, "guru")["resources"]) == 10
    assert not (tmp_path / checkpoint_key("guru", first.sync_id)).exists()


def test_a_missing_checkpoint_starts_afresh(tmp_path: Path) -> None:
    event = SyncEvent(connector="guru", status="in_progress", sync_id="20261122T120000000Z-deadbeef")
    result = run_sync(CountingConnector(), LocalBlobStore(tmp_path), event)
    assert result.status == "complete" and result.sync_id != event.sync_id


class DiesWhileAssembling(Exception):
    """The invocation dying while the final files are being built."""


def test_a_sync_killed_while_assembling_its_files_completes_when_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path)
    first = run_sync(CountingConnector(), store, SyncEvent(connector="guru"), deadline=stop_after(3))
    resumed = SyncEvent.model_validate(first.model_dump())
    real_assemble = SnapshotWriter._assemble

    def assemble_one_then_die(self: SnapshotWriter, kind: str, state: KindState) -> dict[str, FileInfo]:
        built = real_assemble(self, kind, state)
        if kind == "resources":  # two parts built from two segments, the other kinds not yet
            raise DiesWhileAssembling()
        return built

    monkeypatch.setattr(SnapshotWriter, "_assemble", assemble_one_then_die)
    with pytest.raises(DiesWhileAssembling):
        run_sync(CountingConnector(), store, resumed)
    monkeypatch.undo()
    assert not (tmp_path / "snapshots/connector=guru/latest.json").exists()

    done = run_sync(CountingConnector(), store, resumed)
    assert done.status == "complete" and done.sync_id == first.sync_id
    assert [r["id"] for r in read_snapshot(tmp_path, "guru")["resources"]] == [f"u{i}" for i in range(10)]
    assert not list(store.list_keys("snapshots/connector=guru/_"))  # no work files left


def test_a_sync_resumed_after_its_manifest_was_written_only_cleans_up(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    first = run_sync(CountingConnector(), store, SyncEvent(connector="guru"), deadline=stop_after(3))
    checkpoint = store.get_bytes(checkpoint_key("guru", first.sync_id))
    done = run_sync(CountingConnector(), store, SyncEvent.model_validate(first.model_dump()))
    assert checkpoint is not None
    store.put_bytes(checkpoint_key("guru", first.sync_id), checkpoint)  # as if it died before removing it
    manifest = (tmp_path / str(done.snapshot) / "manifest.json").read_bytes()

    again = run_sync(CountingConnector(total=99), store, SyncEvent.model_validate(first.model_dump()))
    assert again.status == "complete" and again.sync_id == first.sync_id and again.counts == done.counts
    assert (tmp_path / str(done.snapshot) / "manifest.json").read_bytes() == manifest
    assert not list(store.list_keys("snapshots/connector=guru/_"))


def test_a_tampered_checkpoint_is_discarded_with_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = LocalBlobStore(tmp_path)
    first = run_sync(CountingConnector(), store, SyncEvent(connector="guru"), deadline=stop_after(3))
    key = checkpoint_key("guru", first.sync_id)
    saved = json.loads(store.get_bytes(key) or b"{}")
    store.put_bytes(key, json.dumps({**saved, "saved_at": "not a time", "state": {"next": "x"}}).encode())
    caplog.clear()

    result = run_sync(CountingConnector(), store, SyncEvent.model_validate(first.model_dump()))
    assert result.status == "complete" and result.sync_id != first.sync_id
    assert [r.message for r in caplog.records if "checkpoint" in r.message] == [
        "checkpoint unreadable; starting a fresh sync"
    ]
    assert not list(store.list_keys(f"snapshots/connector=guru/_segments/{first.sync_id}"))


def test_work_files_of_abandoned_syncs_are_swept_when_a_new_sync_starts(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    killed = run_sync(
        CountingConnector(), store, SyncEvent(connector="guru"), deadline=stop_after(3), clock=lambda: now
    )
    running = run_sync(
        CountingConnector(),
        store,
        SyncEvent(connector="guru"),
        deadline=stop_after(3),
        clock=lambda: now + timedelta(minutes=30),
    )
    assert list(store.list_keys(f"snapshots/connector=guru/_segments/{killed.sync_id}"))

    later = now + timedelta(hours=24, minutes=10)
    run_sync(CountingConnector(), store, SyncEvent(connector="guru"), clock=lambda: later, checkpoint_max_age=24 * 3600)
    left = list(store.list_keys("snapshots/connector=guru/_"))
    assert left and all(running.sync_id in key for key in left)  # the young one may still be running
