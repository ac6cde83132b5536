"""Sorting more JSON lines than should sit in memory: an external merge sort.

Lines are gathered into runs of at most `run_bytes`, each run is sorted in memory and written to a temporary
gzip file, and the runs are merged back as one sorted stream. Memory stays near `run_bytes` (plus one line per
run) whatever the number of lines.
"""

from __future__ import annotations

import gzip
import heapq
import io
import json
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path

RUN_BYTES = 8 * 1024 * 1024

Keyed = tuple[str, bytes]  # (sort key, JSON line)


class ExternalSort:
    """Sorts JSON lines by a key computed from each line, spilling sorted runs to files under `workdir`."""

    def __init__(self, workdir: Path, run_bytes: int) -> None:
        self.workdir = workdir
        self.run_bytes = run_bytes
        self._runs = 0

    def sorted(self, lines: Iterable[bytes], key: Callable[[bytes], str]) -> Iterator[Keyed]:
        """Reads `lines` to the end at once (spilling runs as it goes); the merge that follows is lazy."""
        runs: list[Path] = []
        run: list[Keyed] = []
        size = 0
        for line in lines:
            run.append((key(line), line))
            size += len(line)
            if size >= self.run_bytes:
                runs.append(self._spill(run))
                run, size = [], 0
        if not runs:  # it all fit in one run: no file needed
            run.sort(key=itemgetter(0))
            return iter(run)
        if run:
            runs.append(self._spill(run))
        return heapq.merge(*(self._read(path) for path in runs), key=itemgetter(0))

    def _spill(self, run: list[Keyed]) -> Path:
        run.sort(key=itemgetter(0))
        self._runs += 1
        path = self.workdir / f"run-{self._runs:05d}.gz"
        # Level 1: the runs are read once, soon; speed matters more than size.
        with gzip.open(path, "wb", compresslevel=1) as raw, io.BufferedWriter(raw, 256 * 1024) as out:
            for sort_key, line in run:
                out.write(json.dumps(sort_key).encode() + b"\t" + line + b"\n")
        return path

    @staticmethod
    def _read(path: Path) -> Iterator[Keyed]:
        with gzip.open(path, "rb") as stream:
            for entry in stream:
                sort_key, _, line = entry.rstrip(b"\n").partition(b"\t")
                yield json.loads(sort_key), line
