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
from json.decoder import scanstring  # type: ignore[attr-defined]
from operator import itemgetter
from pathlib import Path

from access_sync.models import ids

RUN_BYTES = 8 * 1024 * 1024

Keyed = tuple[str, bytes]  # (sort key, JSON line)


def leading_strings(line: bytes, *prefixes: str) -> tuple[str, ...] | None:
    """The string values that follow `prefixes` at the very start of a JSON line, or None when it starts
    otherwise. The records' models write their ids first, and reading just those is many times faster than
    parsing the line; sorting a snapshot reads every id. A line written otherwise is parsed whole by the caller."""
    text, at, found = line.decode(), 0, []
    for prefix in prefixes:
        if not text.startswith(prefix, at):
            return None
        value, at = scanstring(text, at + len(prefix))
        found.append(value)
    return tuple(found)


def resource_sort_key(line: bytes) -> str:
    """`<resource_type>:<id>` of a resource line: resource ids are unique per type only."""
    fast = leading_strings(line, '{"resource_type":"', ',"id":"')
    if fast is not None:
        return ids.resource_key(*fast)
    record = json.loads(line)
    return ids.resource_key(record["resource_type"], record["id"])


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
                # unicode_escape is reversible and leaves no raw tab or newline in the key; the line has none.
                out.write(sort_key.encode("unicode_escape") + b"\t" + line + b"\n")
        return path

    @staticmethod
    def _read(path: Path) -> Iterator[Keyed]:
        with io.BufferedReader(gzip.open(path, "rb"), buffer_size=64 * 1024) as stream:
            for entry in stream:
                sort_key, _, line = entry.rstrip(b"\n").partition(b"\t")
                yield sort_key.decode("unicode_escape"), line
