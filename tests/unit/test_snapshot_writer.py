"""The snapshot writer: streamed gzip parts, one per kind and invocation, nothing final until finish."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, UserTrait, grant_line, resource_line
from access_sync.snapshot.writer import SnapshotWriter
from access_sync.stores.blob import LocalBlobStore
from tests.helpers import read_jsonl_gz

FOLDER = "snapshots/connector=guru/sync_date=2026-11-22/sync_id=20261122T120000000Z-00000000"
SEGMENTS = "snapshots/connector=guru/_segments/20261122T120000000Z-00000000/"


def user(i: int) -> Resource:
    return Resource(resource_type="user", id=f"u{i}@x.com", display_name=f"User {i}")


def write_users(writer: SnapshotWriter, ids: range) -> None:
    for i in ids:
        writer.resource(user(i))
        writer.grant(Grant.of("group:g:member", ResourceRef(resource_type="user", id=f"u{i}@x.com")))


def test_finish_writes_one_part_per_kind_whose_manifest_facts_are_true(tmp_path: Path) -> None:
    writer = SnapshotWriter(LocalBlobStore(tmp_path), FOLDER, SEGMENTS)
    group = ResourceRef(resource_type="group", id="g")
    writer.entitlement(Entitlement.for_resource(group, "member", "assignment", "G member", ["user"]))
    write_users(writer, range(3))
    files = writer.finish()
    assert sorted(files) == [f"{kind}/part-00000.jsonl.gz" for kind in ("entitlements", "grants", "resources")]
    for name, info in files.items():
        data = (tmp_path / FOLDER / name).read_bytes()
        assert info.bytes == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
        assert info.records == len(read_jsonl_gz(data))
    assert files["entitlements/part-00000.jsonl.gz"].records == 1 and files["grants/part-00000.jsonl.gz"].records == 3
    assert writer.resource_counts == {"user": 3}
    assert not (tmp_path / FOLDER / "_segments").exists()
    writer.discard_segments()
    assert not (tmp_path / SEGMENTS).exists()


def test_a_kind_without_records_still_has_an_empty_valid_gzip_part(tmp_path: Path) -> None:
    files = SnapshotWriter(LocalBlobStore(tmp_path), FOLDER, SEGMENTS).finish()
    assert gzip.decompress((tmp_path / FOLDER / "entitlements/part-00000.jsonl.gz").read_bytes()) == b""
    assert files["entitlements/part-00000.jsonl.gz"].records == 0


def test_nothing_is_final_before_finish(tmp_path: Path) -> None:
    writer = SnapshotWriter(LocalBlobStore(tmp_path), FOLDER, SEGMENTS)
    write_users(writer, range(5))
    writer.checkpoint()
    assert not (tmp_path / FOLDER).exists()


def test_each_invocation_adds_a_part_and_the_parts_read_in_order(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    first = SnapshotWriter(store, FOLDER, SEGMENTS)
    write_users(first, range(0, 4))
    state = first.checkpoint()
    second = SnapshotWriter(store, FOLDER, SEGMENTS, state)
    write_users(second, range(4, 9))
    files = second.finish()
    parts = sorted((tmp_path / FOLDER / "resources").iterdir())
    assert [part.name for part in parts] == ["part-00000.jsonl.gz", "part-00001.jsonl.gz"]
    lines = [line for part in parts for line in read_jsonl_gz(part.read_bytes())]
    assert [line["id"] for line in lines] == [f"u{i}@x.com" for i in range(9)]
    assert [files[f"resources/{part.name}"].records for part in parts] == [4, 5]
    assert second.resource_counts == {"user": 9}


def test_abort_leaves_no_partial_segment(tmp_path: Path) -> None:
    writer = SnapshotWriter(LocalBlobStore(tmp_path), FOLDER, SEGMENTS)
    write_users(writer, range(3))
    writer.abort()
    assert not list((tmp_path / FOLDER).rglob("*.jsonl.gz*"))


@pytest.mark.parametrize(
    "principal_id",
    ["jane@example.com", 'quote"and\\backslash', "tab\there", "ünïcødé@例え.jp", "line\nbreak", "\x00ctl"],
)
def test_the_fast_grant_line_is_byte_for_byte_the_model_line(principal_id: str) -> None:
    entitlement = "group:5f1c2e0a-1111-2222-3333-444455556666:member"
    model = Grant.of(entitlement, ResourceRef(resource_type="user", id=principal_id)).to_line()
    assert grant_line(entitlement, "user", principal_id) == model


@pytest.mark.parametrize(
    "text", ["Jane Doe", 'quote"and\\backslash', "tab\there", "ünïcødé 例え", "line\nbreak", "\x00ctl"]
)
def test_the_fast_resource_line_is_byte_for_byte_the_model_line(text: str) -> None:
    company = ResourceRef(resource_type="company", id="c0ffee")
    profile = {"title": text, "terminated": False, "manager_uuid": None, "count": 3, "nested": {"a": [1, text]}}
    for parent, user in ((company, (text, None)), (None, None)):
        model = Resource(
            resource_type="employee",
            id=text,
            display_name=text,
            parent=parent,
            status="disabled",
            user=UserTrait(email=user[0], login=user[1]) if user else None,
            profile=profile,
        )
        assert resource_line("employee", text, text, parent, "disabled", user, profile) == model.to_line()


def test_a_batch_of_resource_lines_writes_the_same_part_and_counts_as_one_line_at_a_time(tmp_path: Path) -> None:
    lines = [user(i).to_line() for i in range(250)]
    one_by_one = SnapshotWriter(LocalBlobStore(tmp_path / "a"), FOLDER, SEGMENTS)
    for line in lines:
        one_by_one.resource_line("user", line)
    batched = SnapshotWriter(LocalBlobStore(tmp_path / "b"), FOLDER, SEGMENTS)
    seen: list[bytes] = []
    batched.observe = lambda kind, line: seen.append(line)
    batched.resource_lines("user", lines[:100])
    batched.resource_lines("user", lines[100:])
    assert batched.finish() == one_by_one.finish()
    assert batched.resource_counts == one_by_one.resource_counts == {"user": 250}
    assert seen == lines
