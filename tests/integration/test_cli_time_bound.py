"""Time-bound grants and dry runs from the command line, against the Guru simulator on a loopback port."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from access_sync.cli.main import main
from access_sync.cli.provision_command import run_provision_command
from access_sync_sim.guru import GuruSimulator
from tests.helpers import guru_grant, guru_outsider


@pytest.fixture
def guru(monkeypatch: pytest.MonkeyPatch) -> GuruSimulator:
    sim = GuruSimulator(members=40, groups=6)
    monkeypatch.setenv("GURU_USER_EMAIL", sim.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", sim.ADMIN_TOKEN)
    return sim


@pytest.fixture
def guru_url(guru: GuruSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with guru.serve() as root:
        monkeypatch.setenv("GURU_BASE_URL", f"{root}/api/v1")
        yield f"{root}/api/v1"


@pytest.fixture
def access(guru: GuruSimulator) -> tuple[str, str]:
    return guru_outsider(guru)


def requests_file(tmp_path: Path, *requests: Mapping[str, object]) -> str:
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(list(requests)))
    return str(path)


def test_expire_ends_a_short_grant_once_it_is_due_and_only_once(
    guru_url: str,
    guru: GuruSimulator,
    access: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = str(tmp_path / "data")
    assert (
        main(
            ["provision", "--file", requests_file(tmp_path, guru_grant("tb-1", access, duration="PT2S")), "--out", out]
        )
        == 0
    )
    granted = json.loads((tmp_path / "data/provisioning/results/tb-1.json").read_text())
    assert granted["status"] == "succeeded" and granted["expires_at"]
    assert len(list((tmp_path / "data/provisioning/expiries").glob("expire-*.json"))) == 1
    capsys.readouterr()

    assert main(["expire", "--out", out]) == 0
    assert capsys.readouterr().out.strip() == f"0 ends carried out; 1 end pending, the next at {granted['expires_at']}."
    assert guru.is_member(*access)

    time.sleep(2.2)
    assert main(["expire", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "expire:" in printed and "succeeded" in printed
    assert printed.splitlines()[-1] == "1 end carried out; 0 ends pending."
    assert not guru.is_member(*access)
    assert list((tmp_path / "data/provisioning/expiries").glob("*.json")) == []

    assert main(["expire", "--out", out]) == 0
    assert capsys.readouterr().out.strip() == "0 ends carried out; 0 ends pending."
    assert [m[0] for m in guru.mutations] == ["POST", "DELETE"]


def test_a_dry_run_prints_each_call_and_changes_and_writes_nothing(
    guru_url: str,
    guru: GuruSimulator,
    access: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gid, email = access
    revoke = {
        "request_id": "rm-1",
        "connector": "guru",
        "action": "revoke",
        "grant_id": f"group:{gid}:member:user:x@y.z",
    }
    file = requests_file(
        tmp_path,
        guru_grant("tb-1", access, duration="PT8H"),
        revoke,
        guru_grant("tb-2", access, expires_at="2020-01-01T00:00:00Z"),
    )
    out = tmp_path / "data"

    assert main(["provision", "--dry-run", "--file", file, "--out", str(out)]) == 1  # one would be rejected

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["tb-1", "grant", "would_call"]
    assert f"POST /api/v1/groups/{gid}/members, the access ending at " in lines[0]
    assert lines[1].strip() == f'body [{{"id": "{email}"}}]'
    assert lines[2].split()[:3] == ["rm-1", "revoke", "would_call"]
    assert f"DELETE /api/v1/groups/{gid}/members/x%40y.z" in lines[2]
    assert lines[3].split()[:3] == ["tb-2", "grant", "rejected"] and "is in the past" in lines[3]
    assert guru.mutations == [] and not guru.is_member(gid, email)
    assert not out.exists()


def test_a_dry_run_as_json_prints_one_object_per_request(
    guru_url: str, access: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The arguments `-o json` gives (the global output option); the command reads `output` where it is set.
    args = argparse.Namespace(
        file=requests_file(tmp_path, guru_grant("tb-1", access, duration="PT8H"), {"request_id": "x"}),
        out=str(tmp_path / "data"),
        dry_run=True,
        output="json",
        base_url=None,
        credentials=None,
        secret_id=None,
        guru_secret_id=None,
    )
    assert run_provision_command(args) == 1
    planned, rejected = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert planned["status"] == "would_call" and planned["expires_at"] and planned["calls"][0]["method"] == "POST"
    assert rejected["status"] == "rejected" and rejected["calls"] == []
