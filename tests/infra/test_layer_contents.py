"""What `sam build` puts into the Lambda layer: the access_sync library and its dependencies, nothing for development.

The demo, the local AWS and Lambda helpers (devtools/access_sync_dev), the simulators and the tests stay
in the source checkout. This builds the layer exactly as `make build` does (BuildMethod python3.12 from
template.yaml) into a temporary folder, once per session, and lists what came out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import REPO_ROOT, TEMPLATE_PATH

LAYER = "AccessSyncLayer"
# Top-level names in the layer's python/ folder that belong to development only.
DEV_PACKAGES = ("access_sync_sim", "access_sync_dev", "simulators", "devtools", "tests", "benchmarks", "functions")
# Development-only dependencies (local AWS emulation, the test runner).
DEV_DEPENDENCIES = ("moto", "pytest", "_pytest")
DEV_MODULES = ("demo", "local_aws", "local_lambda")
BUILD_TIMEOUT_SECONDS = 240


def _works(python: Path | str) -> bool:
    try:
        return subprocess.run([str(python), "-c", ""], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_python312() -> Path:
    """The folder of a working python3.12, looked up as the Makefile does (PY312_DIR when make exports it)."""
    candidates: list[Path] = []
    exported = os.environ.get("PY312_DIR", "").strip()
    if exported:
        candidates.append(Path(exported) / "python3.12")
    candidates += sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    on_path = shutil.which("python3.12")
    if on_path:
        candidates.append(Path(on_path))
    for python in candidates:
        if _works(python):
            return python.parent
    pytest.fail(
        "sam build needs a working python3.12 (the Lambda runtime) and none was found "
        f"(PY312_DIR, ~/.pyenv/versions/3.12*/bin, PATH; tried: {[str(c) for c in candidates] or 'nothing'}). "
        "Install one, e.g. `pyenv install 3.12`.",
        pytrace=False,
    )


def find_sam() -> Path:
    """The SAM CLI that `make venv` installs beside the interpreter running the tests."""
    for sam in (Path(sys.executable).parent / "sam", REPO_ROOT / ".venv" / "bin" / "sam"):
        if sam.exists():
            return sam
    pytest.fail("the SAM CLI is not installed: run `make venv` (it installs .venv/bin/sam).", pytrace=False)


@pytest.fixture(scope="session")
def layer_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every file of the built layer, as paths relative to its python/ folder (the layer's sys.path entry)."""
    work = tmp_path_factory.mktemp("sam-layer")
    sam = find_sam()
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(find_python312()), str(sam.parent), os.environ.get("PATH", "")]),
        "SAM_CLI_TELEMETRY": "0",
    }
    command = [
        str(sam),
        "build",
        LAYER,
        "--template",
        str(TEMPLATE_PATH),
        "--build-dir",
        str(work / "build"),
        "--cache-dir",
        str(work / "cache"),
        "--no-cached",
    ]
    try:
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`sam build {LAYER}` took longer than {BUILD_TIMEOUT_SECONDS} s.", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"`sam build {LAYER}` failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    root = work / "build" / LAYER / "python"
    assert root.is_dir(), f"the built layer has no python/ folder: {sorted(p.name for p in root.parent.iterdir())}"
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def _top_level(path: str) -> str:
    first = path.split("/", 1)[0]
    return first.removesuffix(".py")


def test_the_layer_holds_the_library(layer_files: set[str]) -> None:
    for expected in (
        "access_sync/__init__.py",
        "access_sync/sync/engine.py",
        "access_sync/cli/main.py",
        "access_sync/connectors/guru/syncer.py",
        "access_sync/connectors/gusto/syncer.py",
    ):
        assert expected in layer_files, f"{expected} is missing from the built layer"
    # Its runtime dependencies come with it (boto3 comes from the Lambda runtime).
    tops = {_top_level(path) for path in layer_files}
    assert {"aws_lambda_powertools", "httpx", "pydantic", "tenacity", "pyrate_limiter"} <= tops


def test_no_development_package_or_dependency_in_the_layer(layer_files: set[str]) -> None:
    tops = {_top_level(path) for path in layer_files}
    shipped = sorted(tops & {*DEV_PACKAGES, *DEV_DEPENDENCIES})
    assert not shipped, f"development-only code in the Lambda layer: {shipped}"


def test_no_demo_simulator_or_test_module_in_the_library(layer_files: set[str]) -> None:
    own = [path for path in layer_files if path.startswith("access_sync/")]
    offending = []
    for path in own:
        parts = path.split("/")
        name = parts[-1]
        stems = {part.removesuffix(".py") for part in parts[1:]}
        if (
            stems & {*DEV_MODULES, "tests", "simulators"}
            or name.startswith("test_")
            or name == "conftest.py"
            or "simulator" in name
        ):
            offending.append(path)
    assert not offending, f"demo, simulator or test modules in the Lambda layer: {sorted(offending)}"
    # Nothing outside access_sync/ and third-party packages has a development module's name either.
    stray = sorted(
        path for path in layer_files if "/" not in path and path.removesuffix(".py") in {*DEV_MODULES, "conftest"}
    )
    assert not stray, f"development modules at the top of the Lambda layer: {stray}"
