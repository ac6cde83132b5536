"""An operator's `access-sync provision` killed right after a change: running it again never repeats the change."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from access_sync.cli import provision_command
from access_sync.cli.main import main
from access_sync.connectors.gusto.client import GustoClient
from access_sync_sim.gusto import GustoSimulator


class Killed(BaseException):
    """The operator's process dying (SIGKILL, a closed laptop): nothing gets to clean up."""


def test_a_provision_run_killed_after_creating_an_employee_finds_it_when_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gusto = GustoSimulator()
    credentials = tmp_path / "gusto.json"
    credentials.write_text(json.dumps(gusto.issue_credentials()))
    request = tmp_path / "hire.json"
    account = {"first_name": "Ada", "last_name": "Byron", "email": "ada.byron@example.com", "self_onboarding": True}
    request.write_text(
        json.dumps({"request_id": "hire-ada", "connector": "gusto", "action": "create_account", "account": account})
    )
    out = tmp_path / "data"
    create = GustoClient.create_employee

    def create_then_die(*args: Any, **kwargs: Any) -> Any:
        create(*args, **kwargs)
        raise Killed()

    monkeypatch.setattr(provision_command, "OPERATOR_RUN_SECONDS", 1)
    with gusto.serve() as url:
        command = ["provision", "--file", str(request), "--out", str(out), "--credentials", str(credentials)]
        command += ["--base-url", url]
        monkeypatch.setattr(GustoClient, "create_employee", create_then_die)
        with pytest.raises(Killed):
            main(command)
        monkeypatch.setattr(GustoClient, "create_employee", create)
        time.sleep(1.2)  # the killed run's in-progress record has expired
        assert main(command) == 0

    posts = [m for m in gusto.mutations if m[0] == "POST" and m[1].endswith("/employees")]
    assert len(posts) == 1
    outcome = json.loads((out / "provisioning/results/hire-ada.json").read_text())
    assert outcome["status"] == "succeeded" and outcome["resource"]["email"] == "ada.byron@example.com"
    assert not list((out / "provisioning").glob("attempts/*"))  # the marker goes once the outcome is filed
    capsys.readouterr()
