"""`make bench`: every performance target of docs/benchmarks.md, measured in one run, printed as one table.

The syncs run through the real CLI against the simulators on a loopback port: each sync is its own
`access-sync sync` process while the simulator serves from another process, so the peak RSS and the wall
time are the sync's own, and every run is compared with what the API allows at best (benchmarks/bounds.py).
The other rows (findings, reviews, readers, the provisioning batch, cold starts) come from the benchmark
modules beside this one. The exit status is 1 when any target is missed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from access_sync.observability import logger
from access_sync_sim.guru import GuruSimulator
from benchmarks.bounds import Floor, guru_floor, gusto_floor, gusto_needs_refresh
from benchmarks.measure import latest_snapshot, run_measured
from benchmarks.simserver import GuruOrg, GustoCompany, Org, Served, SimulatorProcess, simulator_process
from benchmarks.targets import Target

LATENCY = 0.020  # seconds per request, a realistic round trip to a SaaS API
CONCURRENCY = 16  # requests in flight, the CLI's default
SYNC_TIMEOUT = 900.0  # Lambda's limit; a sync that needs longer has failed the point of the exercise

TARGET_ORG = GuruOrg(members=100_000, groups=2_000, memberships=600_000)
TARGET_RUNS = 3
GURU_WALL_RATIO, GURU_RSS_MB = 1.2, 150.0
SPEEDUP_TARGET = 4.5
GUSTO_OWN_RATIO, GUSTO_WINDOWED_RATIO = 2.0, 1.1
GUSTO_TARGET = GustoCompany(employees=10_000, contractors=500, admins=25)
GUSTO_WINDOWED = GustoCompany(employees=30_000, contractors=1_000, admins=50)  # over 200 requests: two windows

GUSTO_TARGET_RUNS = 3  # the own time of a run this short moves by a tenth of a second: the median is judged
FULL: tuple[Org, ...] = (
    GuruOrg(1_000, 20, 6_000),
    GuruOrg(10_000, 200, 60_000),
    GustoCompany(employees=100, contractors=10, admins=5),
    *(GUSTO_TARGET,) * GUSTO_TARGET_RUNS,
    GUSTO_WINDOWED,
)
QUICK: tuple[Org, ...] = (
    GuruOrg(1_000, 20, 6_000),
    GuruOrg(10_000, 200, 60_000),
    GustoCompany(employees=100, contractors=10, admins=5),
    GustoCompany(employees=1_000, contractors=50, admins=10),
)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool

    def __str__(self) -> str:
        return f"{self.name} {'PASS' if self.passed else 'FAIL'}"


@dataclass
class SyncRow:
    connector: str
    size: str
    floor: Floor
    bound: float
    note: str = ""  # how this run differs from a plain full sync (baseline present, one request at a time)
    requests: int | None = None
    served: int | None = None
    wall: float | None = None
    own: float | None = None  # the sync's own time: the manifest's completed_at - started_at
    rss_mb: float | None = None
    sync_cpu: float | None = None  # seconds of CPU the sync process used
    sim_cpu: float | None = None  # seconds of CPU the simulator used while serving it
    snapshot_mb: float | None = None
    changes: int | None = None
    checks: list[Check] = field(default_factory=list)
    error: str = ""

    @property
    def correct(self) -> bool:
        return all(check.passed for check in self.checks)


def _short(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _connector(org: Org) -> str:
    return "guru" if isinstance(org, GuruOrg) else "gusto"


def _size(org: Org) -> str:
    if isinstance(org, GuruOrg):
        return "/".join(_short(n) for n in (org.members, org.groups, org.memberships))
    return "/".join(_short(n) for n in (org.employees, org.contractors, org.admins))


def _nonzero(counts: dict[str, Any]) -> dict[str, Any]:
    # A manifest may leave out a resource type with no records; zero and absent mean the same.
    resources = {kind: n for kind, n in counts.get("resources", {}).items() if n}
    return {**counts, "resources": resources}


def _command(
    connector: str, served: Served, out: Path, work: Path, concurrency: int = CONCURRENCY
) -> tuple[list[str], dict[str, str]]:
    argv = [str(Path(sys.executable).with_name("access-sync")), "sync", connector]
    argv += ["--base-url", served.base_url, "--out", str(out), "--concurrency", str(concurrency)]
    env = dict(os.environ)
    if served.credentials is None:
        env.update(GURU_USER_EMAIL=GuruSimulator.ADMIN_EMAIL, GURU_API_TOKEN=GuruSimulator.ADMIN_TOKEN)
    else:
        credentials = work / "gusto-credentials.json"
        credentials.write_text(json.dumps(served.credentials))
        argv += ["--credentials", str(credentials)]
    return argv, env


def _floor(connector: str, served: Served) -> Floor:
    if connector == "guru":
        return guru_floor(served.list_sizes)
    assert served.credentials is not None
    return gusto_floor(served.list_sizes, gusto_needs_refresh(served.credentials))


def _seconds_between(started_at: str, completed_at: str) -> float:
    return (datetime.fromisoformat(completed_at) - datetime.fromisoformat(started_at)).total_seconds()


def sync_once(
    connector: str, size: str, sim: SimulatorProcess, out: Path, work: Path, concurrency: int = CONCURRENCY
) -> SyncRow:
    """One `access-sync sync` process against the running simulator, into `out` (whose latest snapshot, if
    any, is the baseline); `served` is the number of requests the simulator answered during this run."""
    served = sim.served
    floor = _floor(connector, served)
    row = SyncRow(connector, size, floor, floor.seconds(LATENCY, concurrency))
    argv, env = _command(connector, served, out, work, concurrency)
    print(f"{connector} {size}: syncing ({floor.requests:,} requests at best)", file=sys.stderr, flush=True)
    before = sim.requests()
    run = run_measured(argv, env, work / "sync.log", SYNC_TIMEOUT)
    row.served = sim.requests() - before
    row.wall, row.rss_mb, row.sync_cpu = run.wall_seconds, run.peak_rss_mb, run.cpu_seconds
    if run.exit_code != 0:
        row.error = f"exit {run.exit_code}: {run.output.strip()[-2000:]}"
        row.checks.append(Check("sync", False))
        return row
    snapshot = latest_snapshot(out, connector)
    manifest = snapshot.manifest
    row.requests = int(manifest["source"]["requests"])
    row.own = _seconds_between(manifest["started_at"], manifest["completed_at"])
    row.snapshot_mb = snapshot.bytes_on_disk / 1e6
    counted = manifest.get("changes") or {}
    row.changes = sum(int(counted.get(kind, 0)) for kind in ("added", "removed", "modified"))
    row.checks.append(Check("requests", row.requests == floor.requests == row.served))
    row.checks.append(Check("counts", _nonzero(manifest["counts"]) == _nonzero(served.expected_counts)))
    return row


def bench_sync(org: Org) -> SyncRow:
    connector = _connector(org)
    print(f"{connector} {_size(org)}: starting the simulator", file=sys.stderr, flush=True)
    with simulator_process(org, LATENCY) as sim, tempfile.TemporaryDirectory(prefix="access-sync-bench-") as tmp:
        row = sync_once(connector, _size(org), sim, Path(tmp) / "out", Path(tmp))
        row.sim_cpu = sim.finish().cpu_seconds
    return row


@dataclass
class GuruTargetRuns:
    first: SyncRow  # no baseline yet
    sequential: SyncRow  # one request at a time, with changes
    runs: list[SyncRow]  # the target runs, each with changes since the run before

    @property
    def median(self) -> SyncRow:
        return sorted(self.runs, key=lambda row: row.wall or 0.0)[len(self.runs) // 2]


def bench_guru_target(runs: int) -> GuruTargetRuns:
    """The 100k team synced into one folder: once to have a baseline, once one request at a time (the
    sequential baseline), then `runs` times as the target says. The team churns before every run after
    the first, so each computes real changes."""
    size = _size(TARGET_ORG)
    print(f"guru {size}: starting the simulator", file=sys.stderr, flush=True)
    with simulator_process(TARGET_ORG, LATENCY) as sim, tempfile.TemporaryDirectory(prefix="access-sync-bench-") as tmp:
        out, work = Path(tmp) / "out", Path(tmp)
        first = sync_once("guru", size, sim, out, work)
        first.note = "no baseline"
        sim.churn()
        sequential = sync_once("guru", size, sim, out, work, concurrency=1)
        sequential.note = "sequential, changes"
        target: list[SyncRow] = []
        for _ in range(runs):
            sim.churn()
            row = sync_once("guru", size, sim, out, work)
            row.note = "changes"
            target.append(row)
        sim.finish()
    return GuruTargetRuns(first, sequential, target)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        aligned = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(aligned).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def _num(value: float | int | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _share(cpu: float | None, wall: float | None) -> str:
    """CPU time as a share of the wall time: 100% is one core kept busy throughout."""
    return "-" if cpu is None or not wall else f"{cpu / wall:.0%}"


def sync_table(rows: Sequence[SyncRow]) -> str:
    header = ["connector", "size", "run", "requests", "minimum", "served", "wall s", "own s", "bound s", "ratio"]
    header += ["RSS MB", "snap MB", "changes", "sync CPU", "sim CPU", "checks"]
    cells = [
        [
            row.connector,
            row.size,
            row.note or "full",
            _num(row.requests, ","),
            _num(row.floor.requests, ","),
            _num(row.served, ","),
            _num(row.wall, ".2f"),
            _num(row.own, ".2f"),
            _num(row.bound, ".2f"),
            _num(row.wall / row.bound if row.wall is not None else None, ".2f"),
            _num(row.rss_mb, ".0f"),
            _num(row.snapshot_mb, ".2f"),
            _num(row.changes, ","),
            _share(row.sync_cpu, row.wall),
            _share(row.sim_cpu, row.wall),
            ", ".join(str(check) for check in row.checks),
        ]
        for row in rows
    ]
    return _table(header, cells, right=set(range(3, 15)))


def guru_targets(guru: GuruTargetRuns) -> list[Target]:
    row = guru.median
    walls = " / ".join(f"{run.wall or 0:.1f}" for run in guru.runs)
    peak = max(run.rss_mb or 0.0 for run in guru.runs)
    correct = all(run.correct for run in guru.runs)
    ratio = (row.wall or 0.0) / row.bound
    sync = Target(
        f"Guru {row.size}, baseline present (changes computed), median of {len(guru.runs)}",
        f"{row.wall or 0:.1f} s = {ratio:.2f} x {row.bound:.1f} s bound; peak RSS {peak:.0f} MB",
        f"<= {GURU_WALL_RATIO} x bound; <= {GURU_RSS_MB:.0f} MB; minimum requests",
        correct and ratio <= GURU_WALL_RATIO and peak <= GURU_RSS_MB,
        f"walls {walls} s; {row.changes or 0:,} changes a run (the team churns between runs)",
    )
    speedup = (guru.sequential.wall or 0.0) / (row.wall or float("inf"))
    faster = Target(
        f"speed-up over a sequential page-by-page sync of Guru {row.size}",
        f"{speedup:.2f} x ({guru.sequential.wall or 0:.1f} s / {row.wall or 0:.1f} s)",
        f">= {SPEEDUP_TARGET} x",
        guru.sequential.correct and speedup >= SPEEDUP_TARGET,
        "the sequential run is the same command with --concurrency 1: one request in flight, page after page",
    )
    return [sync, faster]


def gusto_targets(rows: Sequence[SyncRow]) -> list[Target]:
    targets = []
    mid = [row for row in rows if row.connector == "gusto" and row.size == _size(GUSTO_TARGET)]
    if mid:
        owns = sorted(row.own if row.own is not None else float("inf") for row in mid)
        own = owns[len(owns) // 2]
        row = mid[0]
        targets.append(
            Target(
                f"Gusto {row.size}, the sync's own time (manifest completed_at - started_at), median of {len(mid)}",
                f"{own:.2f} s = {own / row.bound:.2f} x {row.bound:.2f} s bound; "
                f"{_num(row.requests, ',')}/{row.floor.requests:,} requests",
                f"<= {GUSTO_OWN_RATIO} x bound; minimum requests",
                all(run.correct for run in mid) and own <= GUSTO_OWN_RATIO * row.bound,
                "own times " + " / ".join(f"{value:.2f}" for value in owns) + " s",
            )
        )
    for row in rows:
        if row.connector == "gusto" and row.size == _size(GUSTO_WINDOWED):
            wall = row.wall if row.wall is not None else float("inf")
            targets.append(
                Target(
                    f"Gusto {row.size}, two rate-limit windows",
                    f"{wall:.1f} s = {wall / row.bound:.2f} x {row.bound:.1f} s bound; "
                    f"{_num(row.requests, ',')}/{row.floor.requests:,} requests",
                    f"<= {GUSTO_WINDOWED_RATIO} x bound; no 429 (requests = minimum)",
                    row.correct and wall <= GUSTO_WINDOWED_RATIO * row.bound,
                )
            )
    return targets


def every_sync_target(rows: Sequence[SyncRow]) -> Target:
    wrong = [f"{row.connector} {row.size} ({row.note or 'full'})" for row in rows if not row.correct]
    return Target(
        f"every sync above ({len(rows)} runs): requests = minimum = served, counts as the simulator says",
        "all" if not wrong else "not: " + ", ".join(wrong),
        "all",
        not wrong,
    )


def target_table(targets: Sequence[Target]) -> str:
    cells = [[target.what, target.figure, target.target, target.verdict] for target in targets]
    return _table(["what", "measured", "target", ""], cells, right=set())


Section = Callable[[], list[Target]]


def _sections() -> dict[str, Section]:
    """The benchmarks besides the syncs, each in a module of its own; imported only when they run."""
    from benchmarks import coldstart, findings, provisioning, readers, review

    return {
        "findings": findings.targets,
        "review": review.targets,
        "readers": readers.targets,
        "provisioning": provisioning.targets,
        "coldstart": coldstart.targets,
    }


def _measure_section(name: str, pipe: Connection) -> None:
    logger.setLevel("WARNING")  # building a section's data logs every sync it runs; the table is what counts
    pipe.send(_sections()[name]())


def measure_apart(name: str) -> list[Target]:
    """One section in a fresh interpreter: none inherits the heap, threads or caches an earlier one left (run in
    this process after the 600k review, the provisioning batch came out a third slower)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=False)
    process = context.Process(target=_measure_section, args=(name, theirs))  # not a daemon: sections start processes
    process.start()
    theirs.close()
    try:
        targets: list[Target] = ours.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"the {name} benchmark ended without results (exit {process.exitcode})") from None
    process.join()
    return targets


def sync_section(quick: bool, only: str | None) -> tuple[list[SyncRow], list[Target]]:
    orgs = [org for org in (QUICK if quick else FULL) if only in (None, "sync", _connector(org))]
    rows = [bench_sync(org) for org in orgs]
    targets = gusto_targets(rows)
    if not quick and only in (None, "sync", "guru"):
        guru = bench_guru_target(TARGET_RUNS)
        rows += [guru.first, guru.sequential, *guru.runs]
        targets = guru_targets(guru) + targets
    return rows, [*targets, every_sync_target(rows)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller syncs only (no 100k Guru runs)")
    parser.add_argument(
        "--only",
        choices=["sync", "guru", "gusto", "findings", "review", "readers", "provisioning", "coldstart"],
        help="run one part: the syncs (or one connector's), or one of the other benchmarks",
    )
    args = parser.parse_args(argv)

    rows: list[SyncRow] = []
    targets: list[Target] = []
    if args.only in (None, "sync", "guru", "gusto"):
        rows, targets = sync_section(args.quick, args.only)
    if args.only not in ("sync", "guru", "gusto") and not (args.quick and args.only is None):
        for name in _sections():
            if args.only in (None, name):
                print(f"{name}: measuring", file=sys.stderr, flush=True)
                targets += measure_apart(name)

    if rows:
        print(f"Syncs at {LATENCY * 1000:.0f} ms a request, {CONCURRENCY} in flight, {os.cpu_count()} CPUs")
        print(sync_table(rows))
        print("size: Guru members/groups/memberships; Gusto employees/contractors/admins")
        for row in rows:
            if row.error:
                print(f"{row.connector} {row.size} ({row.note or 'full'}) failed: {row.error}")
        print()
    print("Targets")
    print(target_table(targets))
    for target in targets:
        if target.notes:
            print(f"- {target.what}: {target.notes}")
    missed = [target.what for target in targets if not target.passed]
    print()
    print(f"Targets missed: {'; '.join(missed)}." if missed else "All targets met.")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
