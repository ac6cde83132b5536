"""`access-sync demo` outside a source checkout: the development tools are missing, so one clear line."""

from __future__ import annotations

import sys

import pytest

from access_sync.cli.main import main


@pytest.mark.parametrize("missing", ["access_sync_dev", "access_sync_dev.demo", "access_sync_sim"])
def test_demo_without_the_development_tools_says_so_in_one_line(
    missing: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for name in [name for name in sys.modules if name == "access_sync_dev.demo" or name.startswith(f"{missing}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)  # `import` of it now fails as if it were not installed

    assert main(["demo"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("access-sync: error: the demo runs from a source checkout")


def test_demo_missing_something_else_is_an_internal_error_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.delitem(sys.modules, "access_sync_dev.demo", raising=False)
    monkeypatch.setitem(sys.modules, "access_sync.snapshot.views", None)

    assert main(["demo"]) == 70

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("access-sync: internal error: ModuleNotFoundError") and "run with -v for details" in err
