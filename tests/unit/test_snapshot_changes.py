"""What changed since the baseline: exact change records, bounded memory, the same after a resume."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, ResourceType
from access_sync.models.sync_events import SyncEvent
from access_sync.snapshot.changes import changed_fields, diff
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import LocalBlobStore
from access_sync.sync.connector import SyncContext
from access_sync.sync.deadline import Deadline
from access_sync.sync.engine import run_sync
from tests.helpers import read_snapshot


class Page(BaseModel):
    next: int = 0


class OrgConnector:
    """Writes `users` (id → status, title), one group, and a membership for each user in `members`; one user per
    page so that a deadline can stop it anywhere."""

    name = "guru"
    base_url = "http://fake.test"
    resource_types = [ResourceType(id="user", display_name="User", traits=["user"])]
    state_model = Page

    def __init__(self, users: dict[str, tuple[str, str]], members: set[str]) -> None:
        self.users, self.members = users, members
        self.requests = 0

    def sync(self, ctx: SyncContext[Page]) -> bool:
        group = ResourceRef(resource_type="group", id="g1")
        if ctx.state.next == 0:
            ctx.sink.resource(Resource(resource_type="group", id="g1", display_name="Engineering"))
            ctx.sink.entitlement(Entitlement.for_resource(group, "member", "assignment", "Engineering", ["user"]))
        ids = sorted(self.users)
        while ctx.state.next < len(ids):
            uid = ids[ctx.state.next]
            status, title = self.users[uid]
            self.requests += 1
            ctx.sink.resource(
                Resource(
                    resource_type="user",
                    id=uid,
                    display_name=uid.title(),
                    status="enabled" if status == "enabled" else "disabled",
                    profile={"title": title, "team": "core"},
                )
            )
            if uid in self.members:
                ctx.sink.grant(Grant.of("group:g1:member", ResourceRef(resource_type="user", id=uid)))
            ctx.state.next += 1
            if ctx.deadline.should_stop():
                return False
        return True

    def close(self) -> None:
        """Nothing to release."""


BEFORE = {"ann": ("enabled", "Engineer"), "bob": ("enabled", "Designer"), "cat": ("enabled", "Writer")}
AFTER = {"ann": ("enabled", "Staff engineer"), "bob": ("disabled", "Designer"), "dan": ("enabled", "Intern")}


def stop_after(checks: int) -> Deadline:
    remaining = [100.0] * checks + [0.0]
    return Deadline(lambda: remaining.pop(0) if len(remaining) > 1 else remaining[0], margin=1.0)


def summary(changes: list[dict[str, Any]]) -> list[tuple[str, str, str, list[str]]]:
    return [(c["kind"], c["change"], c["id"], c["fields"]) for c in changes]


EXPECTED = [
    ("resource", "modified", "user:ann", ["profile.title"]),
    ("resource", "modified", "user:bob", ["status"]),
    ("resource", "removed", "user:cat", []),
    ("resource", "added", "user:dan", []),
    ("grant", "removed", "group:g1:member:user:cat", []),
    ("grant", "added", "group:g1:member:user:dan", []),
]


def test_a_connectors_first_snapshot_records_no_changes_and_no_baseline(tmp_path: Path) -> None:
    run_sync(OrgConnector(BEFORE, {"ann", "cat"}), LocalBlobStore(tmp_path), SyncEvent(connector="guru"))
    snapshot = read_snapshot(tmp_path, "guru")
    assert snapshot["changes"] == []
    assert snapshot["manifest"]["changes"] == {"baseline_sync_id": None, "added": 0, "removed": 0, "modified": 0}
    assert "changes/part-00000.jsonl.gz" in snapshot["manifest"]["files"]


def test_a_second_sync_records_exactly_what_changed_since_the_first(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    first = run_sync(OrgConnector(BEFORE, {"ann", "cat"}), store, SyncEvent(connector="guru"))
    run_sync(OrgConnector(AFTER, {"ann", "dan"}), store, SyncEvent(connector="guru"))
    snapshot = read_snapshot(tmp_path, "guru")
    assert summary(snapshot["changes"]) == EXPECTED
    assert snapshot["manifest"]["changes"] == {
        "baseline_sync_id": first.sync_id,
        "added": 2,
        "removed": 2,
        "modified": 2,
    }
    bob = snapshot["changes"][1]
    assert bob["before"]["status"] == "enabled" and bob["after"]["status"] == "disabled"
    assert snapshot["changes"][3]["before"] is None and snapshot["changes"][3]["after"]["id"] == "dan"


def test_a_resumed_sync_records_the_same_changes_against_the_baseline_named_when_it_started(tmp_path: Path) -> None:
    calm, stormy = LocalBlobStore(tmp_path / "calm"), LocalBlobStore(tmp_path / "stormy")
    for store in (calm, stormy):
        run_sync(OrgConnector(BEFORE, {"ann", "cat"}), store, SyncEvent(connector="guru"))
    run_sync(OrgConnector(AFTER, {"ann", "dan"}), calm, SyncEvent(connector="guru"))

    result = run_sync(OrgConnector(AFTER, {"ann", "dan"}), stormy, SyncEvent(connector="guru"), deadline=stop_after(1))
    baseline = read_snapshot(tmp_path / "stormy", "guru")["manifest"]["sync_id"]
    (tmp_path / "stormy/snapshots/connector=guru/latest.json").unlink()  # what it names now no longer matters
    while result.status == "in_progress":
        event = SyncEvent.model_validate(result.model_dump())
        result = run_sync(OrgConnector(AFTER, {"ann", "dan"}), stormy, event, deadline=stop_after(1))
    assert result.invocations > 1
    resumed = read_snapshot(tmp_path / "stormy", "guru")
    assert resumed["changes"] == read_snapshot(tmp_path / "calm", "guru")["changes"]
    assert resumed["manifest"]["changes"]["baseline_sync_id"] == baseline


def test_manifest_and_latest_json_are_one_compact_line(tmp_path: Path) -> None:
    run_sync(OrgConnector(BEFORE, set()), LocalBlobStore(tmp_path), SyncEvent(connector="guru"))
    latest = (tmp_path / "snapshots/connector=guru/latest.json").read_text()
    manifest = (tmp_path / json.loads(latest)["path"] / "manifest.json").read_text()
    for text in (latest, manifest):
        assert text.count("\n") == 1 and text.endswith("\n")
        assert json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False) + "\n" == text
    assert json.loads(manifest)["version"] == 2


def lines(records: dict[str, list[dict[str, Any]]]) -> Any:
    return lambda kind: [json.dumps(r, separators=(",", ":")).encode() for r in records.get(kind, [])]


def user(uid: int, **profile: Any) -> dict[str, Any]:
    return {
        "resource_type": "user",
        "id": f"u{uid:05d}",
        "display_name": f"U{uid}",
        "status": "enabled",
        "profile": profile,
    }


def test_spilling_to_sorted_runs_gives_the_same_changes_as_sorting_in_memory(tmp_path: Path) -> None:
    before = {"resources": [user(i, n=i) for i in range(3000, 0, -1)]}
    after = {"resources": [user(i, n=i + (i % 7 == 0)) for i in range(1, 3200, 2)]}
    in_memory = [c.line for c in diff(lines(before), lines(after))]
    spilled = [c.line for c in diff(lines(before), lines(after), workdir=tmp_path, run_bytes=4096)]
    assert len(list(tmp_path.glob("run-*.gz"))) > 20
    assert spilled == in_memory
    ids = [json.loads(line)["id"] for line in in_memory]
    assert ids == sorted(ids) and len(ids) == len(set(ids))


def test_equal_records_with_their_keys_in_another_order_are_no_change() -> None:
    record = user(1, a=1, b=2)
    reordered = dict(reversed(list(record.items())))
    assert list(diff(lines({"resources": [record]}), lines({"resources": [reordered]}))) == []


def test_fields_name_top_level_keys_and_keys_inside_the_profile() -> None:
    before = {"id": "1", "status": "enabled", "profile": {"title": "A", "gone": 1}, "parent": None}
    after = {"id": "1", "status": "disabled", "profile": {"title": "B", "new": 2}, "parent": None, "extra": True}
    assert changed_fields(before, after) == ["status", "profile.title", "profile.new", "profile.gone", "extra"]


def test_a_format_1_snapshot_still_serves_as_the_baseline(tmp_path: Path) -> None:
    folder = "snapshots/connector=guru/sync_date=2026-11-22/sync_id=20261122T120000Z-0000abcd"
    (tmp_path / folder).mkdir(parents=True)
    records = {"resources": [Resource(resource_type="user", id="ann", display_name="Ann").to_line()]}
    files = {}
    for kind in ("resources", "entitlements", "grants"):
        data = gzip.compress(b"".join(records.get(kind, [])))
        (tmp_path / folder / f"{kind}.jsonl.gz").write_bytes(data)
        files[f"{kind}.jsonl.gz"] = {"records": len(records.get(kind, [])), "bytes": len(data), "sha256": "-"}
    manifest = {
        "format": "access-sync.snapshot", "version": 1, "connector": "guru", "sync_id": folder[-25:],
        "started_at": "2026-11-22T12:00:00Z", "completed_at": "2026-11-22T12:00:09Z",
        "counts": {"resources": {"user": 1}, "entitlements": 0, "grants": 0}, "files": files,
        "resource_types": [], "source": {"base_url": "http://fake.test", "requests": 1},
    }  # fmt: skip
    (tmp_path / folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    pointer = {"sync_id": folder[-25:], "path": folder, "completed_at": "2026-11-22T12:00:09Z"}
    (tmp_path / "snapshots/connector=guru/latest.json").write_text(json.dumps(pointer))
    assert [r["id"] for r in SnapshotReader(LocalBlobStore(tmp_path), folder).records("resources")] == ["ann"]

    run_sync(
        OrgConnector({"ann": ("enabled", "Engineer")}, set()), LocalBlobStore(tmp_path), SyncEvent(connector="guru")
    )
    changes = read_snapshot(tmp_path, "guru")["changes"]
    assert ("resource", "added", "group:g1", []) in summary(changes)
    assert ("resource", "modified", "user:ann", ["profile.title", "profile.team"]) in summary(changes)
