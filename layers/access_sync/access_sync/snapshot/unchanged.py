"""Setting unchanged records aside while the sync writes, so that only the rest go through the exact diff.

Between two syncs almost nothing changes: of 800,000 records, a handful. Sorting both snapshots to find that
handful (snapshot/changes.py) costs several passes over every record at the very end of the sync. Instead,
the baseline's records are loaded, while the sync starts fetching, into one table per record kind holding a
64-bit hash of each whole line (9 bytes a record: about 10 MB for 700,000 grants). Each line the sync writes
is looked up as it is written: a line equal to a baseline line matches it and goes no further. Lines that
match nothing are kept in a spill file, and once the sync has written everything, the baseline lines that
nothing matched are read back. Those two small sets go through the exact diff.

Why the result equals the exact diff of everything: a matched pair is the same record, byte for byte, on
both sides, which the exact diff reports as no change. Taking it out of both sides changes nothing else.
A false match would need two different lines with the same keyed 64-bit hash (SipHash, with a secret key
drawn per process; see `_line_hash`).

Lines written before a kind's table is ready (and, for a resumed sync, everything earlier invocations
wrote) are not looked up live. The sync counts them, and `candidates` looks them up from the parts first.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
import tempfile
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from itertools import islice
from pathlib import Path

from access_sync.models.snapshot import RECORD_KINDS
from access_sync.observability import logger

LineSource = Callable[[str], Iterable[bytes]]  # record kind → its JSON lines, without newlines
_MAX_LOAD = 0.7  # linear probing stays a few probes a lookup below this
_UNMATCHED, _MATCHED, _TAKEN = 0, 1, 2


def _keyed_blake2b(line: bytes, _key: bytes = os.urandom(16)) -> int:
    return int.from_bytes(hashlib.blake2b(line, digest_size=8, key=_key).digest(), "little", signed=True)


# Python's own hash of bytes is SipHash keyed with a secret drawn at start-up, and ten times faster than
# blake2b. With PYTHONHASHSEED fixed the key is known, so a keyed blake2b takes over.
_line_hash: Callable[[bytes], int] = hash if sys.flags.hash_randomization else _keyed_blake2b


class _LineTable:
    """A multiset of line hashes: open addressing with linear probing in fixed-size arrays."""

    def __init__(self, records: int) -> None:
        self._allocate(1 << max(4, int(records / _MAX_LOAD).bit_length()))
        self.matched = 0

    def _allocate(self, capacity: int) -> None:
        self.mask = capacity - 1
        self.hashes = array("q", bytes(8 * capacity))  # 0 marks an empty slot
        self.marks = bytearray(capacity)
        self.records = 0

    @staticmethod
    def hash(line: bytes) -> int:
        return _line_hash(line) or 1

    def add(self, line: bytes) -> None:
        if self.records + 1 > _MAX_LOAD * len(self.marks):  # the manifest undercounted: never let it fill up
            self._grow()
        self._insert(self.hash(line))

    def _insert(self, value: int) -> None:
        slot = value & self.mask
        while self.hashes[slot]:
            slot = (slot + 1) & self.mask
        self.hashes[slot] = value
        self.records += 1

    def _grow(self) -> None:
        old = array("q", (value for value in self.hashes if value))
        self._allocate(2 * len(self.marks))
        for value in old:
            self._insert(value)

    def unmatched(self) -> set[int]:
        """The hashes of the lines nothing has matched yet."""
        return {value for value, mark in zip(self.hashes, self.marks, strict=True) if value and mark == _UNMATCHED}

    def take(self, line: bytes, mark: int, wanted: int) -> bool:
        """Marks one slot holding this line's hash and mark `wanted` as `mark`; False when there is none."""
        value = self.hash(line)
        slot = value & self.mask
        hashes, marks = self.hashes, self.marks
        while found := hashes[slot]:
            if found == value and marks[slot] == wanted:
                marks[slot] = mark
                return True
            slot = (slot + 1) & self.mask
        return False


class _Spill:
    """Lines kept on local disk (gzip, fast level) until the end of the sync, then read back once."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.path = folder / f"{kind}.gz"
        self._out: io.BufferedWriter | None = None

    def write(self, line: bytes) -> None:
        if self._out is None:
            # Closed in `read`, or by `close` when the sync ends first.
            self._out = io.BufferedWriter(gzip.open(self.path, "wb", compresslevel=1), 256 * 1024)  # noqa: SIM115
        self._out.write(line + b"\n")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def read(self) -> Iterator[bytes]:
        if self._out is None:
            return
        self.close()
        with io.BufferedReader(gzip.open(self.path, "rb"), 256 * 1024) as stream:
            for line in stream:
                yield line.rstrip(b"\n")


class UnchangedFilter:
    """Built on a thread of its own from the baseline; `observe` runs on the sync's writer thread."""

    def __init__(self, baseline: LineSource, counts: dict[str, int], already_written: dict[str, int]) -> None:
        self._files = ExitStack()
        self._folder = Path(self._files.enter_context(tempfile.TemporaryDirectory(prefix="access-sync-changes-")))
        self._tables = {kind: _LineTable(counts.get(kind, 0)) for kind in RECORD_KINDS}
        self._ready = {kind: threading.Event() for kind in RECORD_KINDS}
        self._spills = {kind: _Spill(self._folder, kind) for kind in RECORD_KINDS}
        self._unobserved = {kind: already_written.get(kind, 0) for kind in RECORD_KINDS}
        self._baseline = baseline
        self._failed: BaseException | None = None
        self._closing = threading.Event()
        self._builder = threading.Thread(target=self._build, name="baseline_index", daemon=True)
        self._builder.start()

    def _build(self) -> None:
        try:
            for kind in RECORD_KINDS:
                table = self._tables[kind]
                for line in self._baseline(kind):
                    if self._closing.is_set():  # the sync stopped early (a checkpoint): the index is not needed
                        return
                    table.add(line)
                self._ready[kind].set()
        except BaseException as exc:  # the exact diff of everything takes over; see `candidates`
            self._failed = exc
            for ready in self._ready.values():
                ready.set()

    def observe(self, kind: str, line: bytes) -> None:
        """One line the sync writes (with its newline)."""
        if not self._ready[kind].is_set() or self._failed is not None:
            self._unobserved[kind] += 1
            return
        self._look_up(kind, line[:-1] if line.endswith(b"\n") else line)

    def _look_up(self, kind: str, line: bytes) -> None:
        table = self._tables[kind]
        if table.take(line, _MATCHED, _UNMATCHED):
            table.matched += 1
        else:
            self._spills[kind].write(line)

    def candidates(self, new: LineSource) -> tuple[LineSource, LineSource] | None:
        """(baseline lines nothing matched, written lines that matched nothing), for the exact diff; None when
        the baseline could not be loaded, and everything must be diffed. `new` is the complete snapshot's lines."""
        self._builder.join()
        if self._failed is not None:
            logger.warning("could not index the baseline; diffing every record", extra={"error": str(self._failed)})
            return None
        for kind in RECORD_KINDS:
            for line in islice(new(kind), self._unobserved[kind]):
                self._look_up(kind, line)
            self._unobserved[kind] = 0

        def before(kind: str) -> Iterator[bytes]:
            table = self._tables[kind]
            if table.matched == table.records:  # every baseline line has its equal: no need to read them again
                return
            left = table.unmatched()  # a few among many: a set lookup passes over the others at C speed
            for line in self._baseline(kind):
                if table.hash(line) in left and table.take(line, _TAKEN, _UNMATCHED):
                    yield line

        return before, lambda kind: self._spills[kind].read()

    def close(self) -> None:
        self._closing.set()
        self._builder.join()
        for spill in self._spills.values():
            spill.close()
        self._files.close()
