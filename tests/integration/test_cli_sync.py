"""`access-sync sync` as a user runs it: to a folder or to S3, with one-line errors and exit codes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from access_sync.cli.main import main
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.s3 import S3BlobStore
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator
from tests.helpers import read_snapshot


@pytest.fixture
def guru_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    sim = GuruSimulator(members=120, groups=5)
    monkeypatch.setenv("GURU_USER_EMAIL", sim.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", sim.ADMIN_TOKEN)
    with sim.serve() as root:
        yield f"{root}/api/v1"


def test_sync_guru_into_a_folder(guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "guru", "--base-url", guru_url, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "guru sync" in out and "complete" in out and str(tmp_path) in out
    assert read_snapshot(tmp_path, "guru")["manifest"]["counts"]["resources"]["user"] == 120


def test_sync_guru_into_s3(guru_url: str, aws: None) -> None:
    boto3.client("s3").create_bucket(Bucket="reviews")
    assert main(["sync", "guru", "--base-url", guru_url, "--out", "s3://reviews/access"]) == 0
    reader = SnapshotReader.latest(S3BlobStore("reviews", "access"), "guru")
    assert reader is not None and reader.manifest.counts.resources["user"] == 120


def test_sync_gusto_with_a_credentials_file_rotates_it_in_place(tmp_path: Path) -> None:
    sim = GustoSimulator(access_token_ttl=120)
    credentials = tmp_path / "gusto.json"
    credentials.write_text(json.dumps(sim.issue_credentials()))
    with sim.serve() as root:
        for _ in range(2):
            args = ["sync", "gusto", "--credentials", str(credentials), "--base-url", root, "--out", str(tmp_path)]
            assert main(args) == 0
    stored = json.loads(credentials.read_text())
    assert sim.refresh_token_valid(stored["refresh_token"]) and sim.refresh_count >= 1


def test_missing_guru_credentials_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "guru", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GURU_USER_EMAIL" in err and "Traceback" not in err


def test_wrong_guru_token_is_exit_3_without_the_token(
    guru_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GURU_API_TOKEN", "definitely-wrong-token")
    assert main(["sync", "guru", "--base-url", guru_url, "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "definitely-wrong-token" not in err
    assert not (tmp_path / "snapshots/connector=guru/latest.json").exists()


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("http://127.0.0.1:9/api/v1", "Cannot reach Guru at 127.0.0.1: nothing accepts connections on port 9"),
        ("http://no-such-host.invalid/api/v1", "Cannot reach Guru at no-such-host.invalid: its name does not resolve"),
    ],
)
def test_an_unreachable_host_is_exit_7_within_seconds_naming_it(
    base_url: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GURU_USER_EMAIL", "a@x.com")
    monkeypatch.setenv("GURU_API_TOKEN", "t")
    started = time.monotonic()

    assert main(["sync", "guru", "--base-url", base_url, "--out", str(tmp_path)]) == 7

    assert time.monotonic() - started < 10
    assert one_line(capsys.readouterr().err).startswith(f"access-sync: error: {says}")


def test_tls_to_a_plain_http_port_is_exit_7_and_suggests_http(
    guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()

    assert main(["sync", "guru", "--base-url", guru_url.replace("http://", "https://"), "--out", str(tmp_path)]) == 7

    assert time.monotonic() - started < 10
    line = one_line(capsys.readouterr().err)
    assert "Cannot reach Guru at 127.0.0.1: the TLS handshake" in line and "start the base URL with http://" in line


def test_provision_carries_out_a_file_of_requests_and_files_each_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = GuruSimulator(members=40, groups=6)
    monkeypatch.setenv("GURU_USER_EMAIL", sim.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", sim.ADMIN_TOKEN)
    gid, email = next(
        (gid, sim.member_email(i))
        for gid in sim.group_ids()[1:]
        for i in range(2, 40)
        if not sim.is_member(gid, sim.member_email(i))
    )
    grant = {
        "request_id": "add-1",
        "connector": "guru",
        "action": "grant",
        "entitlement_id": f"group:{gid}:member",
        "principal": {"resource_type": "user", "id": email},
    }
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps([grant, {"request_id": "bad-1", "connector": "guru"}, grant]))
    with sim.serve() as root:
        code = main(["provision", "--file", str(requests), "--base-url", f"{root}/api/v1", "--out", str(tmp_path)])

    assert code == 1  # one request was rejected
    assert sim.is_member(gid, email) and len(sim.mutations) == 1  # the repeated request changed nothing more
    results = tmp_path / "provisioning/results"
    assert json.loads((results / "add-1.json").read_text())["status"] == "succeeded"
    assert json.loads((results / "bad-1.json").read_text())["status"] == "rejected"
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == ["add-1", "bad-1", "add-1"]
