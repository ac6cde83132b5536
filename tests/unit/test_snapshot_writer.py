"""The snapshot writer: streamed gzip parts, segments across checkpoints, nothing final until finish."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, grant_line
from access_sync.snapshot.writer import SnapshotWriter
from access_sync.stores.blob import LocalBlobStore
from tests.helpers import read_jsonl_gz

FOLDER = "snapshots/connector=guru/sync_date=2026-11-22/sync_id=20261122T120000Z-00000000"
SEGMENTS = "snapshots/connector=guru/_segments/20261122T120000Z-00000000/"


def user(i: int) -> Resource:
    return Resource(resource_type="user", id=f"u{i}@x.com", display_name=f"User {i}")


def write_users(writer: SnapshotWriter, ids: range) -> None:
    for i in ids:
        writer.resource(user(i))
        writer.grant(Grant.of("group:g:member", ResourceRef(resource_type="user", id=f"u{i}@x.com")))


def test_finish_writes_three_gzip_files_whose_manifest_facts_are_true(tmp_path: Path) -> None:
    writer = SnapshotWriter(LocalBlobStore(tmp_path), FOLDER, SEGMENTS)
    group = ResourceRef(resource_type="group", id="g")
    writer.entitlement(Entitlement.for_resource(group, "member", "assignment", "G member", ["user"]))
    write_users(writer, range(3))
    files = writer.finish()
    for name, info in files.items():
        data = (tmp_path / FOLDER / name).read_bytes()
        assert info.bytes == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
        assert info.records == len(read_jsonl_gz(data))
    assert files["entitlements.jsonl.gz"].records == 1 and files["grants.jsonl.gz"].records == 3
    assert writer.resource_counts == {"user": 3}
    assert not (tmp_path / FOLDER / "_segments").exists()
    writer.discard_segments()
    assert not (tmp_path / SEGMENTS).exists()


def test_an_empty_file_is_still_a_valid_gzip(tmp_path: Path) -> None:
    files = SnapshotWriter(LocalBlobStore(tmp_path), FOLDER, SEGMENTS).finish()
    assert gzip.decompress((tmp_path / FOLDER / "entitlements.jsonl.gz").read_bytes()) == b""
    assert files["entitlements.jsonl.gz"].records == 0


def test_nothing_is_final_before_finish(tmp_path: Path) -> None:
    writer = SnapshotWriter(LocalBlobStore(tmp_path), FOLDER, SEGMENTS)
    write_users(writer, range(5))
    writer.checkpoint()
    assert not (tmp_path / FOLDER / "resources.jsonl.gz").exists()


def test_segments_from_several_invocations_read_as_one_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    first = SnapshotWriter(store, FOLDER, SEGMENTS)
    write_users(first, range(0, 4))
    state = first.checkpoint()
    second = SnapshotWriter(store, FOLDER, SEGMENTS, state)
    write_users(second, range(4, 9))
    files = second.finish()
    lines = read_jsonl_gz((tmp_path / FOLDER / "resources.jsonl.gz").read_bytes())
    assert [line["id"] for line in lines] == [f"u{i}@x.com" for i in range(9)]
    assert files["resources.jsonl.gz"].records == 9 and second.resource_counts == {"user": 9}


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
