"""Streams records into gzip JSON-lines parts without holding them in memory.

Each invocation of a sync writes its records into *segments* (one per record kind per invocation), kept
outside the snapshot folder. `finish()` turns segment N of a kind into `<kind>/part-0000N.jsonl.gz` of the
snapshot, a copy each (server-side on S3), so a resumed sync yields the same records as an uninterrupted one,
in more parts. Segments are only read while assembling, and removed by `discard_segments()` once the
manifest is written, so an invocation that dies while assembling leaves everything a resumed one needs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import queue
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from typing import Protocol

from pydantic import BaseModel, Field
from typing_extensions import Buffer

from access_sync.models.snapshot import RECORD_KINDS, Entitlement, FileInfo, Grant, Resource, grant_line
from access_sync.snapshot.layout import part_name, segment_key
from access_sync.stores.blob import BlobStore, BlobWriter

_LINE_BUFFER = 256 * 1024


class RecordSink(Protocol):
    """What a connector writes its records to."""

    def resource(self, record: Resource) -> None: ...

    def resource_line(self, resource_type: str, line: bytes) -> None:
        """A resource of `resource_type` already written as its line by `models.snapshot.resource_line`, for
        connectors that write very many."""
        ...

    def resource_lines(self, resource_type: str, lines: list[bytes]) -> None:
        """`resource_line` for each of `lines`, in order: a page of people in one write."""
        ...

    def entitlement(self, record: Entitlement) -> None: ...

    def grant(self, record: Grant) -> None: ...

    def grant_to(self, entitlement: str, principal_type: str, principal_id: str) -> None:
        """The same as `grant(Grant.of(...))`, for connectors that write very many grants."""
        ...


class KindState(BaseModel):
    segments: list[FileInfo] = Field(default_factory=list)  # closed segments, in order


class WriterState(BaseModel):
    """Everything the writer must remember across a checkpoint."""

    kinds: dict[str, KindState] = Field(default_factory=lambda: {kind: KindState() for kind in RECORD_KINDS})
    resource_counts: dict[str, int] = Field(default_factory=dict)


class _HashingWriter:
    def __init__(self, target: BlobWriter) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def flush(self) -> None:
        """gzip calls flush on its file object; the blob writer buffers on its own."""


class _CompressingThread(io.RawIOBase):
    """Hands each buffer of lines to a thread of its own that compresses it into `gzip` and writes it on.

    zlib (like hashing and file writes) lets go of the GIL, so the compression runs on another core while
    the sync's writer thread, its busiest, goes on building records. A few buffers wait at most.
    """

    def __init__(self, target: gzip.GzipFile) -> None:
        super().__init__()
        self._target = target
        self._buffers: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gzip", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer, /) -> int:
        self._raise()
        copy = bytes(data)  # the caller reuses its buffer
        self._buffers.put(copy)
        return len(copy)

    def _run(self) -> None:
        while (buffer := self._buffers.get()) is not None:
            if self._error is None:
                try:
                    self._target.write(buffer)
                except BaseException as exc:  # raised on the writer's thread, at its next write or at close
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Waits until every buffer is compressed, then ends the gzip stream."""
        self.stop()
        self._raise()
        self._target.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._buffers.put(None)
            self._thread.join()


class PartWriter:
    """One gzip JSON-lines blob, written as a stream; `close()` says what a manifest records about it."""

    def __init__(self, store: BlobStore, key: str) -> None:
        self._context: AbstractContextManager[BlobWriter] = store.open_writer(key, "application/gzip")
        self.raw = _HashingWriter(self._context.__enter__())
        # mtime=0 keeps the bytes of equal content equal, run after run. Level 5 compresses JSON lines almost
        # as well as 6 at a clearly lower CPU cost.
        self.gzip = gzip.GzipFile(fileobj=self.raw, mode="wb", compresslevel=5, mtime=0)
        self._compressing = _CompressingThread(self.gzip)
        # One compress call per buffer instead of one per record.
        self.lines = io.BufferedWriter(self._compressing, buffer_size=_LINE_BUFFER)
        self.records = 0

    def write(self, line: bytes) -> None:
        self.lines.write(line)
        self.records += 1

    def write_all(self, lines: list[bytes]) -> None:
        self.lines.write(b"".join(lines))
        self.records += len(lines)

    def close(self) -> FileInfo:
        self.lines.flush()
        self._compressing.finish()
        self._context.__exit__(None, None, None)
        return FileInfo(records=self.records, bytes=self.raw.size, sha256=self.raw.digest.hexdigest())

    def abort(self) -> None:
        self._compressing.stop()
        error = RuntimeError("part aborted")
        with suppress(RuntimeError):
            self._context.__exit__(RuntimeError, error, None)


LineObserver = Callable[[str, bytes], None]  # (record kind, line with its newline), for every line written


class SnapshotWriter:
    def __init__(
        self,
        store: BlobStore,
        folder: str,
        segments: str,
        state: WriterState | None = None,
    ) -> None:
        self.store = store
        self.folder = folder
        self.segments = segments
        self.observe: LineObserver | None = None  # set by the sync engine, see snapshot/unchanged.py
        self.state = state or WriterState()
        self._open: dict[str, PartWriter] = {}
        self._counts: Counter[str] = Counter(self.state.resource_counts)

    # RecordSink -----------------------------------------------------------------------------------------
    def resource(self, record: Resource) -> None:
        self.resource_line(record.resource_type, record.to_line())

    def resource_line(self, resource_type: str, line: bytes) -> None:
        self._counts[resource_type] += 1
        self._write("resources", line)

    def resource_lines(self, resource_type: str, lines: list[bytes]) -> None:
        self._counts[resource_type] += len(lines)
        self._segment("resources").write_all(lines)
        if self.observe is not None:
            for line in lines:
                self.observe("resources", line)

    def entitlement(self, record: Entitlement) -> None:
        self._write("entitlements", record.to_line())

    def grant(self, record: Grant) -> None:
        self._write("grants", record.to_line())

    def grant_to(self, entitlement: str, principal_type: str, principal_id: str) -> None:
        self._write("grants", grant_line(entitlement, principal_type, principal_id))

    def _write(self, kind: str, line: bytes) -> None:
        self._segment(kind).write(line)
        if self.observe is not None:
            self.observe(kind, line)

    def _segment(self, kind: str) -> PartWriter:
        segment = self._open.get(kind)
        if segment is None:
            index = len(self.state.kinds[kind].segments)
            segment = self._open[kind] = PartWriter(self.store, segment_key(self.segments, kind, index))
        return segment

    # Lifecycle ------------------------------------------------------------------------------------------
    def checkpoint(self) -> WriterState:
        """Closes the open segments; the returned state lets a later writer carry on after them."""
        for kind, segment in self._open.items():
            self.state.kinds[kind].segments.append(segment.close())
        self._open.clear()
        self.state.resource_counts = dict(self._counts)
        return self.state.model_copy(deep=True)

    def abort(self) -> None:
        for segment in self._open.values():
            segment.abort()
        self._open.clear()

    def finish(self) -> dict[str, FileInfo]:
        """Closes segments and builds the snapshot's parts; returns what the manifest says about them."""
        self.checkpoint()
        files: dict[str, FileInfo] = {}
        for kind, state in self.state.kinds.items():
            files.update(self._assemble(kind, state))
        return files

    def discard_segments(self) -> None:
        self.store.delete_prefix(self.segments)

    @property
    def resource_counts(self) -> dict[str, int]:
        return dict(self._counts)

    def written(self) -> dict[str, int]:
        """Records of each kind in the segments closed so far (by earlier invocations, for a resumed sync)."""
        return {kind: sum(info.records for info in state.segments) for kind, state in self.state.kinds.items()}

    def _assemble(self, kind: str, state: KindState) -> dict[str, FileInfo]:
        if not state.segments:  # a kind with no records still has one (empty) part
            return {part_name(kind, 0): PartWriter(self.store, f"{self.folder}/{part_name(kind, 0)}").close()}
        for index in range(len(state.segments)):
            self.store.copy(segment_key(self.segments, kind, index), f"{self.folder}/{part_name(kind, index)}")
        return {part_name(kind, index): info for index, info in enumerate(state.segments)}
