"""Measuring one process: a sync run through the real CLI, or a handler module imported in a fresh interpreter."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ProcessRun:
    exit_code: int
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    output: str  # stdout and stderr, for the report when the run failed


def run_measured(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> ProcessRun:
    """Runs `argv` to completion and reports its wall time and peak RSS, killing it after `timeout` s.

    The peak RSS comes from wait4() on this very child, so neither the simulator process nor earlier runs
    can leak into it, which RUSAGE_CHILDREN (a maximum over every child ever reaped) would allow.
    """
    with log.open("wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    cpu = usage.ru_utime + usage.ru_stime
    peak_mb = usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux
    return ProcessRun(process.returncode, wall, peak_mb, cpu, log.read_text(errors="replace"))


# Times exactly what Lambda's runtime does on a cold start: load the handler file as a module.
_IMPORT_TIMER = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


def import_seconds(handler: Path, runs: int = 3) -> float:
    """Median import time of `handler` over `runs` fresh interpreters, after one that compiles the bytecode."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    timings = []
    for _ in range(runs + 1):
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_TIMER, str(handler)],
            env=env,
            cwd=handler.parent,
            capture_output=True,
            text=True,
            check=True,
        )
        timings.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(timings[1:])


@dataclass(frozen=True)
class Snapshot:
    manifest: dict[str, Any]
    bytes_on_disk: int


def latest_snapshot(out: Path, connector: str) -> Snapshot:
    latest = json.loads((out / f"snapshots/connector={connector}/latest.json").read_text())
    folder = out / latest["path"]
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return Snapshot(json.loads((folder / "manifest.json").read_text()), size)
