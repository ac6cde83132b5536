"""Measuring one process: a sync run through the real CLI, or a handler module imported in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
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


@dataclass(frozen=True)
class Snapshot:
    manifest: dict[str, Any]
    bytes_on_disk: int


def latest_snapshot(out: Path, connector: str) -> Snapshot:
    latest = json.loads((out / f"snapshots/connector={connector}/latest.json").read_text())
    folder = out / latest["path"]
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return Snapshot(json.loads((folder / "manifest.json").read_text()), size)
