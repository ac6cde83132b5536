"""Importing a handler stays lean: the X-Ray SDK behind Powertools Tracer loads on the first invocation."""

from __future__ import annotations

import subprocess
import sys

import pytest

from access_sync_dev.local_lambda import REPO_ROOT


@pytest.mark.parametrize("function", ["guru_sync", "gusto_sync", "provisioning"])
def test_importing_a_handler_does_not_load_the_tracer(function: str) -> None:
    app = str(REPO_ROOT / "functions" / function / "app.py")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {app!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(sorted(name for name in sys.modules if name.startswith('aws_xray_sdk')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
