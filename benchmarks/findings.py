"""`python -m benchmarks.findings`: a findings run over a large organisation, in a process of its own.

Snapshots are written through the real sync engine from generated records (no API involved): Guru with
100,000 members in 2,000 groups holding 600,000 memberships, Gusto with 30,000 people. Guru members are
the people's work addresses (some in other letter case) plus accounts of nobody, so the run finds
thousands of leavers and tens of thousands of unmatched accounts. Two runs are measured: the first, and
a second that carries every finding over from it (the realistic steady state). Targets: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, ResourceType, UserTrait
from access_sync.models.sync_events import SyncEvent
from access_sync.observability import logger
from access_sync.stores.blob import LocalBlobStore
from access_sync.sync.connector import SyncContext
from access_sync.sync.engine import run_sync
from benchmarks.measure import run_measured

MEMBERS, GROUPS, MEMBERSHIPS, PEOPLE = 100_000, 2_000, 600_000, 30_000
WALL_TARGET_SECONDS, RSS_TARGET_MB = 10.0, 150.0


class _NoState(BaseModel):
    pass


class _Generated:
    """A connector that writes generated records instead of calling an API."""

    state_model = _NoState
    base_url = "generated"
    requests = 0

    def __init__(
        self, name: str, resource_types: list[ResourceType], write: Callable[[SyncContext[_NoState]], None]
    ) -> None:
        self.name, self.resource_types, self._write = name, resource_types, write

    def sync(self, ctx: SyncContext[_NoState]) -> bool:
        self._write(ctx)
        return True

    def close(self) -> None:
        """Nothing to close."""


def _person_address(index: int) -> str:
    return f"person{index}@corp.test"


def _write_gusto(ctx: SyncContext[_NoState]) -> None:
    company = Resource(resource_type="company", id="c0", display_name="Big Co")
    ctx.sink.resource(company)
    entitlement = Entitlement.for_resource(company.ref, "admin", "permission", "Big Co admin", ["employee"])
    ctx.sink.entitlement(entitlement)
    for index in range(PEOPLE):
        kind = "contractor" if index % 10 == 0 else "employee"
        left = index % 10 == 9
        profile = (
            {"email": _person_address(index), "is_active": not left}
            if kind == "contractor"
            else {
                "email": f"p{index}@home.test",
                "work_email": _person_address(index),
                "terminated": left,
                "termination_date": "2026-01-31" if left else None,
            }
        )
        ctx.sink.resource(
            Resource(
                resource_type=kind,
                id=f"{kind[0]}{index}",
                display_name=f"Person {index}",
                parent=company.ref,
                status="disabled" if left else "enabled",
                user=UserTrait(email=_person_address(index), login=_person_address(index)),
                profile=profile,
            )
        )
        if index < 10:
            ctx.sink.grant(Grant.of(entitlement.id, ResourceRef(resource_type=kind, id=f"{kind[0]}{index}")))


def _write_guru(ctx: SyncContext[_NoState]) -> None:
    for group in range(GROUPS):
        record = Resource(
            resource_type="group", id=f"g{group}", display_name=f"Group {group}", profile={"modifiable": group > 0}
        )
        ctx.sink.resource(record)
        ctx.sink.entitlement(
            Entitlement.for_resource(record.ref, "member", "assignment", record.display_name, ["user"])
        )
    for index in range(MEMBERS):
        email = _person_address(index) if index < PEOPLE else f"nobody{index}@elsewhere.test"
        member = email.upper() if index % 4 == 1 else email
        ctx.sink.resource(
            Resource(
                resource_type="user",
                id=member,
                display_name=f"Member {index}",
                user=UserTrait(email=member, login=member),
                profile={"status": "ACTIVE"},
            )
        )
    per_member = MEMBERSHIPS // MEMBERS
    for index in range(MEMBERS):
        email = _person_address(index) if index < PEOPLE else f"nobody{index}@elsewhere.test"
        member = email.upper() if index % 4 == 1 else email
        for k in range(per_member):
            ctx.sink.grant_to(f"group:g{(index * 7 + k * 131) % GROUPS}:member", "user", member)


def build(dest: Path) -> None:
    store = LocalBlobStore(dest)
    gusto_types = [
        ResourceType(id=kind, display_name=kind.capitalize()) for kind in ("company", "employee", "contractor")
    ]
    guru_types = [ResourceType(id="user", display_name="User"), ResourceType(id="group", display_name="Group")]
    run_sync(_Generated("gusto", gusto_types, _write_gusto), store, SyncEvent(connector="gusto"))
    run_sync(_Generated("guru", guru_types, _write_guru), store, SyncEvent(connector="guru"))


def run_once(dest: Path) -> None:
    from access_sync.findings.runs import run_findings

    started = time.perf_counter()
    report = run_findings(LocalBlobStore(dest))
    print(f"{time.perf_counter() - started:.2f} s; counts {report.counts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.findings", description=__doc__)
    parser.add_argument("--run", metavar="DEST", help=argparse.SUPPRESS)  # the measured child process
    args = parser.parse_args(argv)
    if args.run:
        run_once(Path(args.run))
        return 0
    missed = False
    logger.setLevel("WARNING")
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / "dest"
        started = time.perf_counter()
        build(dest)
        print(
            f"snapshots: {MEMBERS:,} Guru members, {MEMBERSHIPS:,} memberships, {PEOPLE:,} Gusto people "
            f"(written in {time.perf_counter() - started:.0f} s)"
        )
        for label in ("first run", "second run (carries the first over)"):
            measured = run_measured(
                [sys.executable, "-m", "benchmarks.findings", "--run", str(dest)],
                env={
                    "PATH": "/usr/bin:/bin",
                    "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                    "POWERTOOLS_LOG_LEVEL": "WARNING",
                },
                log=Path(folder) / "run.log",
                timeout=120,
            )
            ok = measured.exit_code == 0 and measured.wall_seconds <= WALL_TARGET_SECONDS
            ok = ok and measured.peak_rss_mb <= RSS_TARGET_MB
            missed |= not ok
            print(
                f"{label}: {measured.wall_seconds:.2f} s wall (process), peak RSS {measured.peak_rss_mb:.0f} MB "
                f"[{'ok' if ok else 'MISSED'}: ≤ {WALL_TARGET_SECONDS:.0f} s, ≤ {RSS_TARGET_MB:.0f} MB]"
            )
            print(f"  {measured.output.strip()}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
