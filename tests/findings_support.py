"""What the findings tests share: one organisation seen by both simulators, served on loopback ports, and the
CLI run against it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from access_sync.cli.main import main
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator
from access_sync_sim.organisation import Organisation

GROUPS = 8


@pytest.fixture
def org() -> Organisation:
    return Organisation(employees=40, contractors=10, admins=5)


@pytest.fixture
def org_guru(org: Organisation) -> GuruSimulator:
    return GuruSimulator(organisation=org, groups=GROUPS)


@pytest.fixture
def org_gusto(org: Organisation) -> GustoSimulator:
    return GustoSimulator(organisation=org)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dest"


@pytest.fixture
def urls(
    org_guru: GuruSimulator, org_gusto: GustoSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("GURU_USER_EMAIL", org_guru.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", org_guru.ADMIN_TOKEN)
    credentials = tmp_path / "gusto.json"
    credentials.write_text(json.dumps(org_gusto.issue_credentials()))
    with org_guru.serve() as guru_root, org_gusto.serve() as gusto_root:
        yield {"guru": f"{guru_root}/api/v1", "gusto": gusto_root, "credentials": str(credentials)}


def sync(connector: str, urls: dict[str, str], dest: Path) -> None:
    extra = ["--credentials", urls["credentials"]] if connector == "gusto" else []
    assert main(["sync", connector, "--out", str(dest), "--base-url", urls[connector], *extra]) == 0


def write_identities(dest: Path, entries: list[dict[str, Any]]) -> None:
    (dest / "config").mkdir(parents=True, exist_ok=True)
    (dest / "config" / "identities.json").write_text(json.dumps(entries))
