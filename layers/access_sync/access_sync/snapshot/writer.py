"""Streams records into gzip JSON-lines files without holding them in memory.

Each invocation of a sync writes its records into *segments* (one gzip member per file per invocation),
kept outside the snapshot folder. `finish()` builds the final `resources.jsonl.gz`, `entitlements.jsonl.gz`
and `grants.jsonl.gz` from them: a copy when there is one segment, a streamed concatenation otherwise
(concatenated gzip members are one valid gzip stream). A resumed sync therefore yields the same records as
an uninterrupted one. Segments are only read while assembling, and removed by `discard_segments()` once the
manifest is written, so an invocation that dies while assembling leaves everything a resumed one needs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections import Counter
from contextlib import AbstractContextManager, suppress
from typing import Protocol

from pydantic import BaseModel, Field

from access_sync.models.snapshot import RECORD_FILES, Entitlement, FileInfo, Grant, Resource, grant_line
from access_sync.snapshot.layout import segment_key
from access_sync.stores.blob import BlobStore, BlobWriter

_COPY_CHUNK = 1024 * 1024
_LINE_BUFFER = 256 * 1024


class RecordSink(Protocol):
    """What a connector writes its records to."""

    def resource(self, record: Resource) -> None: ...

    def entitlement(self, record: Entitlement) -> None: ...

    def grant(self, record: Grant) -> None: ...

    def grant_to(self, entitlement: str, principal_type: str, principal_id: str) -> None:
        """The same as `grant(Grant.of(...))`, for connectors that write very many grants."""
        ...


class FileState(BaseModel):
    segments: int = 0
    records: int = 0
    # Size and digest of the only segment, so a one-segment file can be renamed without being read again.
    single_bytes: int = 0
    single_sha256: str = ""


class WriterState(BaseModel):
    """Everything the writer must remember across a checkpoint."""

    files: dict[str, FileState] = Field(default_factory=lambda: {name: FileState() for name in RECORD_FILES})
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


class _Segment:
    def __init__(self, store: BlobStore, key: str) -> None:
        self._context: AbstractContextManager[BlobWriter] = store.open_writer(key, "application/gzip")
        self.raw = _HashingWriter(self._context.__enter__())
        # mtime=0 keeps the bytes of equal content equal, run after run. Level 5 compresses JSON lines almost
        # as well as 6 at a clearly lower CPU cost, and the sync's one writer thread is its busiest.
        self.gzip = gzip.GzipFile(fileobj=self.raw, mode="wb", compresslevel=5, mtime=0)
        # One compress call per buffer instead of one per record.
        self.lines = io.BufferedWriter(self.gzip, buffer_size=_LINE_BUFFER)

    def write(self, line: bytes) -> None:
        self.lines.write(line)

    def close(self) -> None:
        self.lines.close()  # flushes into the gzip stream and closes it
        self._context.__exit__(None, None, None)

    def abort(self) -> None:
        error = RuntimeError("segment aborted")
        with suppress(RuntimeError):
            self._context.__exit__(RuntimeError, error, None)


class SnapshotWriter:
    def __init__(self, store: BlobStore, folder: str, segments: str, state: WriterState | None = None) -> None:
        self.store = store
        self.folder = folder
        self.segments = segments
        self.state = state or WriterState()
        self._open: dict[str, _Segment] = {}
        self._counts: Counter[str] = Counter(self.state.resource_counts)

    # RecordSink -----------------------------------------------------------------------------------------
    def resource(self, record: Resource) -> None:
        self._counts[record.resource_type] += 1
        self._write("resources.jsonl.gz", record.to_line())

    def entitlement(self, record: Entitlement) -> None:
        self._write("entitlements.jsonl.gz", record.to_line())

    def grant(self, record: Grant) -> None:
        self._write("grants.jsonl.gz", record.to_line())

    def grant_to(self, entitlement: str, principal_type: str, principal_id: str) -> None:
        self._write("grants.jsonl.gz", grant_line(entitlement, principal_type, principal_id))

    def _write(self, file_name: str, line: bytes) -> None:
        segment = self._open.get(file_name)
        if segment is None:
            index = self.state.files[file_name].segments
            segment = self._open[file_name] = _Segment(self.store, segment_key(self.segments, file_name, index))
        segment.write(line)
        self.state.files[file_name].records += 1

    # Lifecycle ------------------------------------------------------------------------------------------
    def checkpoint(self) -> WriterState:
        """Closes the open segments; the returned state lets a later writer carry on after them."""
        for file_name, segment in self._open.items():
            segment.close()
            info = self.state.files[file_name]
            info.segments += 1
            info.single_bytes, info.single_sha256 = segment.raw.size, segment.raw.digest.hexdigest()
        self._open.clear()
        self.state.resource_counts = dict(self._counts)
        return self.state.model_copy(deep=True)

    def abort(self) -> None:
        for segment in self._open.values():
            segment.abort()
        self._open.clear()

    def finish(self) -> dict[str, FileInfo]:
        """Closes segments and builds the final files; returns what the manifest says about them."""
        self.checkpoint()
        return {name: self._assemble(name, info) for name, info in self.state.files.items()}

    def discard_segments(self) -> None:
        self.store.delete_prefix(self.segments)

    @property
    def resource_counts(self) -> dict[str, int]:
        return dict(self._counts)

    def _assemble(self, file_name: str, info: FileState) -> FileInfo:
        final = f"{self.folder}/{file_name}"
        if info.segments == 1:
            self.store.copy(segment_key(self.segments, file_name, 0), final)
            return FileInfo(records=info.records, bytes=info.single_bytes, sha256=info.single_sha256)
        with self.store.open_writer(final, "application/gzip") as target:
            out = _HashingWriter(target)
            if info.segments == 0:
                with gzip.GzipFile(fileobj=out, mode="wb", mtime=0):
                    pass
            for index in range(info.segments):
                self._append(segment_key(self.segments, file_name, index), out)
        return FileInfo(records=info.records, bytes=out.size, sha256=out.digest.hexdigest())

    def _append(self, key: str, out: _HashingWriter) -> None:
        with self.store.open_reader(key) as source:
            while chunk := source.read(_COPY_CHUNK):
                out.write(chunk)
