"""Where a findings run lives under DEST, and its gzip JSON-lines part files (docs/findings.md). No analysis here."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from access_sync.models.findings import FindingsManifest, FindingsPointer
from access_sync.stores.blob import BlobStore
from access_sync.stores.glue import Partition

FINDINGS_PREFIX = "findings"
LATEST_KEY = f"{FINDINGS_PREFIX}/latest.json"
PART = "part-00000.jsonl.gz"


def run_folder(run_id: str) -> str:
    day = datetime.strptime(run_id[:8], "%Y%m%d")
    return f"{FINDINGS_PREFIX}/run_date={day:%Y-%m-%d}/run_id={run_id}"


def parts_prefix(folder: str) -> str:
    return f"{folder}/findings/"


def run_partition(store: BlobStore, folder: str, manifest: FindingsManifest) -> Partition:
    """The run's partition (run_date, run_id) of the findings table: its part files' folder, without the
    manifest beside it. The location ends with "/" so that it is not a prefix of a neighbour's name."""
    run_date = folder.rsplit("/", 2)[-2].removeprefix("run_date=")
    location = store.describe(parts_prefix(folder)).rstrip("/") + "/"
    return Partition(values=[run_date, manifest.run_id], location=location)


def compact(record: dict[str, Any]) -> bytes:
    """One compact JSON line: no whitespace outside strings, UTF-8 as is."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class LineWriter:
    """Writes records as gzip compact JSON lines, streaming; counts what it wrote."""

    def __init__(self, target: Any) -> None:
        # mtime=0: equal content, equal bytes, run after run.
        self._gzip = gzip.GzipFile(fileobj=target, mode="wb", mtime=0)
        self._lines = io.BufferedWriter(self._gzip, buffer_size=256 * 1024)
        self.records = 0

    def write(self, record: dict[str, Any]) -> None:
        self._lines.write(compact(record))
        self.records += 1

    def close(self) -> None:
        self._lines.close()


@contextmanager
def line_writer(store: BlobStore, key: str) -> Iterator[LineWriter]:
    """Nothing appears under `key` unless the block ends cleanly."""
    with store.open_writer(key, "application/gzip") as target:
        writer = LineWriter(target)
        yield writer
        writer.close()


def read_lines(store: BlobStore, folder: str) -> Iterator[dict[str, Any]]:
    """Every finding of a run folder, part after part."""
    for key in sorted(store.list_keys(parts_prefix(folder))):
        if key.endswith(".jsonl.gz"):
            with store.open_reader(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
                for line in lines:
                    if line.strip():
                        yield json.loads(line)


def latest_pointer(store: BlobStore) -> FindingsPointer | None:
    raw = store.get_bytes(LATEST_KEY)
    return FindingsPointer.model_validate_json(raw) if raw is not None else None


def read_manifest(store: BlobStore, folder: str) -> FindingsManifest | None:
    raw = store.get_bytes(f"{folder}/manifest.json")
    return FindingsManifest.model_validate_json(raw) if raw is not None else None


def write_complete(store: BlobStore, folder: str, manifest: FindingsManifest) -> None:
    """The manifest, then the pointer: a run is visible only once both are written, in that order."""
    store.put_bytes(f"{folder}/manifest.json", manifest.model_dump_json().encode())
    pointer = FindingsPointer(run_id=manifest.run_id, path=folder, completed_at=manifest.completed_at)
    store.put_bytes(LATEST_KEY, pointer.model_dump_json().encode())
