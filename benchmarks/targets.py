"""One row of `make bench`'s table: what was measured, the figure, the target, and whether it was met.

Every benchmark module exposes `targets(...) -> list[Target]`; benchmarks/run.py prints them all in one
table and exits 1 when any row is not met.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    what: str  # the row's label, e.g. "Guru 100k/2k/600k sync, with changes"
    figure: str  # what was measured, with units, e.g. "44.1 s = 1.10 x bound, 121 MB"
    target: str  # what it must be, e.g. "≤ 1.2 x bound, ≤ 150 MB"
    passed: bool
    notes: str = ""  # where the time and memory go, or why the row failed; printed under the table

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"
