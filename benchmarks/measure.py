"""Measuring one command in a process of its own: its wall time, CPU time and peak RSS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
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


# Linux starts a child's ru_maxrss at the high-water RSS of the process that spawned it (it survives the
# vfork and the exec), so a benchmark that had generated 300 MB of records would see every child at 300 MB or
# more. This small interpreter, itself at ~10 MB, spawns the command and reports the command's own figures.
_MEASURER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
wall = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
figures = {"exit_code": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}
with open(sys.argv[1], "w") as out:
    json.dump(figures, out)
sys.exit(code if code >= 0 else 1)
"""


def run_measured(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> ProcessRun:
    """Runs `argv` to completion and reports its wall time and peak RSS, killing it after `timeout` s.

    The figures come from wait4() on this very command (in a small measuring interpreter between it and this
    process, see _MEASURER), so neither the simulator process, nor earlier runs, nor this process's own
    memory can leak into them, which RUSAGE_CHILDREN (a maximum over every child ever reaped) would allow.
    """
    figures_file = log.with_name(log.name + ".figures.json")
    figures_file.unlink(missing_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", _MEASURER, str(figures_file), *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that a timeout ends the command too, not only the measurer
        )
        killer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
        killer.start()
        try:
            process.wait()
        finally:
            killer.cancel()
    output = log.read_text(errors="replace")
    if not figures_file.exists():  # killed before the command ended
        return ProcessRun(process.returncode, timeout, 0.0, 0.0, output)
    figures = json.loads(figures_file.read_text())
    figures_file.unlink()
    return ProcessRun(
        figures["exit_code"],
        figures["wall"],
        figures["maxrss_kib"] / 1024,  # ru_maxrss is in KiB on Linux
        figures["cpu"],
        output,
    )


@dataclass(frozen=True)
class Snapshot:
    manifest: dict[str, Any]
    bytes_on_disk: int


def latest_snapshot(out: Path, connector: str) -> Snapshot:
    latest = json.loads((out / f"snapshots/connector={connector}/latest.json").read_text())
    folder = out / latest["path"]
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return Snapshot(json.loads((folder / "manifest.json").read_text()), size)
