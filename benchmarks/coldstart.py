"""`python -m benchmarks.coldstart`: each handler's import on a cold start, with only what Lambda has.

Lambda runs a handler with the function's folder and the layer's contents on sys.path, nothing else (no
development packages). The layer is built here as `sam build` builds it: the hash-locked requirements
installed by pip into a folder cached per lock file, and the access_sync package copied afresh into a folder of
this run's (so that runs from two checkouts cannot mix their code). Each handler is then imported by
`python -I -S` (no site-packages, no user environment) with only the function's folder and those two on
sys.path, under Python 3.12 (the functions' runtime) when there is one. Figures are the median of RUNS fresh
interpreters, after one that compiles the bytecode.

Informational, in the notes: what the first invocation adds before its first request, in the same
interpreter — the modules the handler left to first use (the service, the connector, boto3, the X-Ray SDK
behind the Tracer) and the AWS clients a request uses. Network calls are not part of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.targets import Target, print_targets

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCK = REPO_ROOT / "layers/access_sync/requirements.txt"
LIBRARY = REPO_ROOT / "layers/access_sync/access_sync"
TARGET_SECONDS = 0.3
RUNS = 5

# What each handler's first invocation loads and builds before its first request (see the module docstring).
_FIRST_USE = {
    "guru_sync": "from access_sync.wiring.registry import connector_spec\nconnector_spec('guru')\n",
    "gusto_sync": "from access_sync.wiring.registry import connector_spec\nconnector_spec('gusto')\n",
    "provisioning": (
        "from access_sync.wiring import provisioning_lambda\nfrom access_sync.wiring.registry import CONNECTORS\n"
        "provisioning_lambda._service()\nCONNECTORS['guru']\naws_client('events')\n"
    ),
}
_CLIENTS = "from access_sync.stores.aws_clients import aws_client\naws_client('s3', 8)\naws_client('dynamodb')\n"
_TRACER = "from aws_lambda_powertools import Tracer\nTracer()\n"

_TIMER = """
import importlib.util, json, os, sys, time
app, path, first_use = sys.argv[1:4]
sys.path[:0] = path.split(os.pathsep)
started, started_cpu = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("app", app)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported, imported_cpu = time.perf_counter(), time.process_time()
exec(first_use, {})
print(json.dumps({"import": imported - started, "import_cpu": imported_cpu - started_cpu,
                  "first_use": time.perf_counter() - imported}))
"""


@dataclass(frozen=True)
class ColdStart:
    import_seconds: float
    import_cpu_seconds: float  # the same import's CPU time: close to its wall unless the machine is busy
    first_use_seconds: float


def runtime_python() -> str:
    """Python 3.12 (the functions' runtime): the Makefile's PY312_DIR, else python3.12 on PATH, else this one."""
    candidates = [Path(os.environ["PY312_DIR"]) / "python3.12"] if os.environ.get("PY312_DIR") else []
    candidates += [Path(found)] if (found := shutil.which("python3.12")) else []
    return next((str(path) for path in candidates if path.exists()), sys.executable)


def dependencies_folder(python: str) -> Path:
    """The layer's locked dependencies for `python`, installed once per lock file."""
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"access-sync-layer-{digest}-py{version}"
    if not (folder / ".installed").exists():
        print(f"installing the layer's dependencies into {folder}", file=sys.stderr, flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes"]
        subprocess.run([*pip, "-r", str(LOCK), "--target", str(folder)], check=True)
        (folder / ".installed").touch()
    return folder


def _lambda_environment() -> dict[str, str]:
    """What the functions' environment holds that an import or a client build reads (fake credentials)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "coldstart",
        "AWS_SECRET_ACCESS_KEY": "coldstart",
        "POWERTOOLS_SERVICE_NAME": "access-sync",
        "POWERTOOLS_METRICS_NAMESPACE": "AccessSync",
        "SNAPSHOT_BUCKET": "access-sync-coldstart",
        "IDEMPOTENCY_TABLE": "access-sync-coldstart",
    }


def cold_start(python: str, layer: list[Path], function: str, runs: int = RUNS) -> ColdStart:
    """`function`'s import with the folders of `layer` (and its own) on sys.path, in fresh interpreters."""
    app = REPO_ROOT / "functions" / function / "app.py"
    print(f"cold start of functions/{function}/app.py", file=sys.stderr, flush=True)
    path = os.pathsep.join(str(folder) for folder in [app.parent, *layer])
    first_use = _CLIENTS + _FIRST_USE[function] + _TRACER
    timings = []
    for _ in range(runs + 1):
        done = subprocess.run(
            [python, "-I", "-S", "-c", _TIMER, str(app), path, first_use],
            env=_lambda_environment(),
            cwd=app.parent,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"the cold start of {function} failed:\n{done.stderr}")
        timings.append(json.loads(done.stdout.strip().splitlines()[-1]))
    measured = timings[1:]  # the first run compiled the bytecode
    return ColdStart(
        *(statistics.median(t[figure] for t in measured) for figure in ("import", "import_cpu", "first_use"))
    )


def _row(function: str, python: str, measured: ColdStart) -> Target:
    return Target(
        what=f"handler import (cold start), {function}",
        figure=f"{measured.import_seconds:.3f} s (CPU {measured.import_cpu_seconds:.3f} s)",
        target=f"≤ {TARGET_SECONDS} s",
        passed=measured.import_seconds <= TARGET_SECONDS,
        notes=(
            f"median of {RUNS} fresh `{Path(python).name} -I -S` with only the layer and the function on sys.path; "
            f"the first invocation then loads and builds {measured.first_use_seconds:.3f} s more (service, "
            "connector, boto3 and its clients, X-Ray SDK) before its first request"
        ),
    )


def targets() -> list[Target]:
    python = runtime_python()
    dependencies = dependencies_folder(python)
    with tempfile.TemporaryDirectory(prefix="access-sync-coldstart-") as library:
        shutil.copytree(LIBRARY, Path(library) / "access_sync", ignore=shutil.ignore_patterns("__pycache__"))
        layer = [Path(library), dependencies]
        measured = {function: cold_start(python, layer, function) for function in _FIRST_USE}
    return [_row(function, python, cold) for function, cold in measured.items()]


def main() -> int:
    return print_targets(targets())


if __name__ == "__main__":
    sys.exit(main())
