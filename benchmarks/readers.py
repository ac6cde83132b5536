"""`python -m benchmarks.readers`: the reader commands over 600,000 grants, each in a process of its own.

The organisation is the findings and review benchmarks' (benchmarks/organisation.py): 100,000 Guru members in
2,000 groups with 600,000 memberships, synced three times, each time with every 100th member renamed and
about 1 % of the memberships gone (a few thousand changes a time). Measured, each as its own `access-sync`
process writing its output to a file:

- `grants guru -o csv`: every grant of the latest snapshot, joined with its account;
- `diff guru -o csv`: the latest snapshot's changes since its baseline (stored in the snapshot);
- `diff guru --from <first> -o csv`: the changes across two syncs, computed from both snapshots.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from access_sync.observability import logger
from access_sync.stores.blob import LocalBlobStore
from access_sync_dev.fixture_syncer import write_snapshot
from benchmarks.measure import ProcessRun, run_measured
from benchmarks.organisation import guru, gusto
from benchmarks.targets import Target, print_targets

MEMBERS, GROUPS, MEMBERSHIPS, PEOPLE = 100_000, 2_000, 600_000, 30_000
REVISIONS = 3
RSS_TARGET_MB = 150.0
LABELS = {
    "grants": "access-sync grants guru -o csv",
    "diff": "access-sync diff guru -o csv",
    "diff --from": "access-sync diff guru --from <two syncs back> -o csv",
}
NOTES = {
    "grants": (
        "About 70 MB of the RSS is the interpreter and the library's imports. The grants and the accounts are "
        "each sorted by account with an external merge sort (sorted runs of 8 MB spilled to gzip files, then "
        "merged) and joined as two sorted streams; only the entitlements and the resources they belong to are "
        "held. The time is the two sorts and 600,000 CSV rows."
    ),
    "diff": "The stored changes are read and printed line by line.",
    "diff --from": (
        "Both snapshots are sorted by record id with the same external merge sort, kind after kind, and "
        "joined as two sorted streams: memory stays near the sort's run size."
    ),
}


def _cli(argv: list[str], work: Path, name: str) -> ProcessRun:
    binary = Path(sys.executable).with_name("access-sync")
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    return run_measured([str(binary), *argv], env, work / f"{name}.out", timeout=600)


def _lines(path: Path) -> int:
    with path.open("rb") as out:
        return sum(1 for _ in out)


def targets() -> list[Target]:
    logger.setLevel("WARNING")
    with tempfile.TemporaryDirectory(prefix="access-sync-readers-bench-") as tmp:
        work = Path(tmp)
        store = LocalBlobStore(work / "dest")
        write_snapshot(store, gusto(PEOPLE))
        synced = [
            write_snapshot(store, guru(MEMBERS, GROUPS, MEMBERSHIPS, people=PEOPLE, revision=revision))
            for revision in range(REVISIONS)
        ]
        dest = str(store.root)
        commands = {
            "grants": ["grants", "guru", "-o", "csv", "--out", dest],
            "diff": ["diff", "guru", "-o", "csv", "--out", dest],
            "diff --from": ["diff", "guru", "--from", synced[0].sync_id, "-o", "csv", "--out", dest],
        }
        rows = []
        for name, argv in commands.items():
            run = _cli(argv, work, name.replace(" ", ""))
            printed = _lines(work / f"{name.replace(' ', '')}.out") - 1  # the header
            failure = "" if run.exit_code == 0 else f"exited with {run.exit_code}: {run.output[-500:]} "
            rows.append(
                Target(
                    what=f"{LABELS[name]} over {MEMBERSHIPS // 1000}k grants",
                    figure=f"{run.wall_seconds:.1f} s ({run.cpu_seconds:.1f} s CPU), {run.peak_rss_mb:.0f} MB, "
                    f"{printed:,} rows",
                    target=f"stream; ≤ {RSS_TARGET_MB:.0f} MB",
                    passed=run.exit_code == 0 and run.peak_rss_mb <= RSS_TARGET_MB,
                    notes=failure + NOTES[name],
                )
            )
    return rows


def main() -> int:
    return print_targets(targets())


if __name__ == "__main__":
    sys.exit(main())
