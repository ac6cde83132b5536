"""The reader commands as a reviewer runs them: resources, entitlements, grants and diff, from a folder or S3."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import boto3
import pytest

from access_sync.cli.main import main
from access_sync.snapshot.reader import SnapshotReader
from access_sync.snapshot.views import grant_rows
from access_sync.stores.blob import LocalBlobStore
from access_sync.stores.s3 import S3BlobStore
from tests.sample_dest import write_sample_dest


@pytest.fixture(scope="module")
def dest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_dest(tmp_path_factory.mktemp("dest"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(dest: Path, connector: str) -> SnapshotReader:
    reader = SnapshotReader.latest(LocalBlobStore(dest), connector)
    assert reader is not None
    return reader


def test_grants_as_csv_are_readable_joined_rows(dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "grants", "gusto", "--out", str(dest), "-o", "csv")
    assert code == 0
    found = list(csv.DictReader(io.StringIO(out)))
    assert [(r["account_name"], r["account_email"], r["account_status"], r["entitlement_name"], r["resource_name"])
            for r in found] == [
        ("Ann", "ann@x.com", "enabled", "Acme admin", "Acme"),
        ("Cat", "cat@x.com", "disabled", "Acme admin", "Acme"),
        ("Zed", "zed@x.com", "enabled", "Acme admin", "Acme"),
    ]  # fmt: skip
    assert found[0]["grant_id"] == "company:c1:admin:employee:e1" and found[0]["account_type"] == "employee"


def test_listings_read_the_latest_snapshot_unless_given_a_sync_id(
    dest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = snapshot(dest, "guru").manifest.changes
    assert first is not None and first.baseline_sync_id
    _, latest, _ = run(capsys, "grants", "guru", "--out", str(dest), "-o", "json")
    _, older, _ = run(capsys, "grants", "guru", "--out", str(dest), "-o", "json", "--sync-id", first.baseline_sync_id)
    assert len(latest.splitlines()) == 3 and len(older.splitlines()) == 2


def test_json_prints_each_record_as_stored_one_per_line(dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, err = run(capsys, "resources", "guru", "--out", str(dest), "-o", "json")
    assert out.splitlines() == [line.decode() for line in snapshot(dest, "guru").lines("resources")]
    assert err == ""


def test_filters_narrow_each_listing(dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def ids(*argv: str) -> list[str]:
        _, out, _ = run(capsys, *argv, "--out", str(dest), "-o", "json")
        return [json.loads(line)["id"] for line in out.splitlines()]

    assert ids("resources", "guru", "--status", "disabled") == ["bob@x.com"]
    assert ids("resources", "gusto", "--type", "employee") == ["e1", "e2"]
    assert ids("entitlements", "guru", "--type", "group") == ["group:g1:member", "group:g2:member"]
    assert ids("grants", "guru", "--entitlement", "group:g2:member") == ["group:g2:member:user:cat@x.com"]
    assert ids("grants", "gusto", "--principal", "user:u1") == ids("grants", "gusto", "--principal", "u1")
    assert ids("grants", "gusto", "--type", "employee", "--status", "disabled") == ["company:c1:admin:employee:e2"]


def test_text_is_an_aligned_table_with_a_count_on_stderr(dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "grants", "guru", "--out", str(dest))
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["account_name", "account_email", "account_status", "entitlement_name",
                                                "resource_name"]  # fmt: skip
    assert lines[3].split() == ["Cat", "cat@x.com", "enabled", "Sales", "member", "Sales"]
    assert err.startswith("3 grants in guru snapshot ")


def test_diff_prints_the_latest_changes_against_its_baseline(dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "guru", "--out", str(dest), "-o", "json")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == list(snapshot(dest, "guru").records("changes"))
    assert [(c["kind"], c["change"], c["id"]) for c in map(json.loads, out.splitlines())] == [
        ("grant", "added", "group:g2:member:user:cat@x.com")
    ]
    _, text, _ = run(capsys, "diff", "guru", "--out", str(dest))
    assert text == "+ grant group:g2:member:user:cat@x.com\n"


def test_diff_between_any_two_snapshots_is_computed_the_same_way(
    dest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latest = snapshot(dest, "guru").manifest
    assert latest.changes is not None and latest.changes.baseline_sync_id
    older = latest.changes.baseline_sync_id
    _, forward, _ = run(
        capsys, "diff", "guru", "--out", str(dest), "-o", "json", "--from", older, "--to", latest.sync_id
    )
    _, stored, _ = run(capsys, "diff", "guru", "--out", str(dest), "-o", "json")
    assert forward == stored
    _, backward, _ = run(
        capsys, "diff", "guru", "--out", str(dest), "-o", "csv", "--from", latest.sync_id, "--to", older
    )
    assert list(csv.DictReader(io.StringIO(backward))) == [
        {"kind": "grant", "change": "removed", "id": "group:g2:member:user:cat@x.com", "display_name": "",
         "fields": ""}
    ]  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["diff", "guru", "--to", "20200101T000000000Z-00000000"],
        ["diff", "guru", "--from", "not-a-sync-id"],
        ["grants", "gusto", "--sync-id", "20200101T000000000Z-00000000"],
    ],
)
def test_an_unknown_sync_id_exits_2_with_one_line(
    dest: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv, "--out", str(dest))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no complete" in err and "Traceback" not in err


def test_a_dest_without_snapshots_says_to_sync_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "resources", "guru", "--out", str(tmp_path))
    assert code == 2 and "run `access-sync sync guru` first" in err


def test_the_first_snapshot_has_nothing_to_diff(dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "diff", "gusto", "--out", str(dest), "-o", "json")
    assert code == 0 and out == "" and "has no baseline" in err


def test_readers_read_snapshots_in_s3(aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("s3").create_bucket(Bucket="reviews")
    write_sample_dest(tmp_path, S3BlobStore("reviews", "access"))
    code, out, _ = run(capsys, "grants", "guru", "--out", "s3://reviews/access", "-o", "csv")
    assert code == 0 and len(out.splitlines()) == 4
    _, changes, _ = run(capsys, "diff", "guru", "--out", "s3://reviews/access", "-o", "json")
    assert json.loads(changes)["id"] == "group:g2:member:user:cat@x.com"


def test_joining_grants_that_spill_to_sorted_runs_loses_none_and_keeps_them_by_account(dest: Path) -> None:
    reader = snapshot(dest, "guru")
    in_memory = [row for row, _ in grant_rows(reader)]
    spilled = [row for row, _ in grant_rows(reader, run_bytes=1)]
    assert spilled == in_memory and [r["account_id"] for r in spilled] == ["ann@x.com", "bob@x.com", "cat@x.com"]
