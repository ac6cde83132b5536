"""Importing a handler stays lean: the X-Ray SDK, boto3 and the connectors load on first use (docs/architecture.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from access_sync_dev.local_lambda import REPO_ROOT

HANDLERS = ["guru_sync", "gusto_sync", "provisioning"]


def modules_after(code: str) -> list[str]:
    """Every module loaded by `code`, in a fresh interpreter."""
    listing = "import json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code + "\n" + listing], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def modules_after_importing(function: str) -> list[str]:
    app = str(REPO_ROOT / "functions" / function / "app.py")
    return modules_after(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('app', {app!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
    )


def under(modules: list[str], *packages: str) -> list[str]:
    return [name for name in modules if any(name == p or name.startswith(f"{p}.") for p in packages)]


@pytest.mark.parametrize("function", HANDLERS)
def test_importing_a_handler_does_not_load_the_tracer(function: str) -> None:
    assert under(modules_after_importing(function), "aws_xray_sdk") == []


@pytest.mark.parametrize("function", HANDLERS)
def test_importing_a_handler_loads_neither_boto3_nor_any_connector(function: str) -> None:
    loaded = modules_after_importing(function)
    assert under(loaded, "boto3", "access_sync.connectors.guru", "access_sync.connectors.gusto") == []


def test_importing_the_provisioning_handler_leaves_the_service_and_idempotency_to_the_first_invocation() -> None:
    loaded = modules_after_importing("provisioning")
    assert under(loaded, "access_sync.provisioning.service", "aws_lambda_powertools.utilities.idempotency") == []


def test_looking_up_one_connector_loads_its_modules_and_not_the_others() -> None:
    loaded = modules_after(
        "from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END\n"
        "assert CONNECTORS['guru'].name == 'guru' and NO_GRANT_END.get('guru') is None\n"
        "assert sorted(CONNECTORS) == ['guru', 'gusto']\n"
    )
    assert "access_sync.connectors.guru.provisioner" in loaded
    assert under(loaded, "access_sync.connectors.gusto") == []


def test_the_connectors_that_refuse_grant_ends_are_listed_with_their_reason() -> None:
    from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END

    assert dict(NO_GRANT_END) == {"gusto": CONNECTORS["gusto"].grant_end_refused}
    assert "guru" not in NO_GRANT_END and "unknown" not in NO_GRANT_END
