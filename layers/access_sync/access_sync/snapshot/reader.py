"""Reading completed snapshots back (the demo's summary, `what changed`, tests): streamed, record by record."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

from access_sync.models.snapshot import LatestPointer, Manifest
from access_sync.snapshot.layout import latest_key
from access_sync.stores.blob import BlobStore


class SnapshotReader:
    def __init__(self, store: BlobStore, folder: str) -> None:
        self.store = store
        self.folder = folder
        raw = store.get_bytes(f"{folder}/manifest.json")
        if raw is None:
            raise FileNotFoundError(f"{store.describe(folder)} has no manifest.json: it is not a complete snapshot")
        self.manifest = Manifest.model_validate_json(raw)

    @classmethod
    def latest(cls, store: BlobStore, connector: str) -> SnapshotReader | None:
        raw = store.get_bytes(latest_key(connector))
        if raw is None:
            return None
        return cls(store, LatestPointer.model_validate_json(raw).path)

    def records(self, kind: str) -> Iterator[dict[str, Any]]:
        """`kind` is resources, entitlements or grants."""
        with self.store.open_reader(f"{self.folder}/{kind}.jsonl.gz") as raw, gzip.open(raw, "rt") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)
