"""Publishing on EventBridge (source `access-sync`): provisioning outcomes, and whatever else the stack announces."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from access_sync.errors import TransientError
from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_errors


class EventBridgePublisher:
    source = "access-sync"

    def __init__(self, bus_name: str = "default", detail_type: str = "Provisioning Outcome") -> None:
        self.bus_name = bus_name
        self.detail_type = detail_type
        self._client: Any = None

    def publish(self, detail: dict[str, Any]) -> None:
        self._put([self._entry(json.dumps(detail))])

    def publish_all(self, details: Iterable[dict[str, Any]]) -> None:
        """One event per detail, sent in batches within PutEvents' limits (10 entries, 256 KB)."""
        for batch in _batches(self._entry(json.dumps(detail)) for detail in details):
            self._put(batch)

    def _entry(self, detail: str) -> dict[str, str]:
        return {"Source": self.source, "DetailType": self.detail_type, "Detail": detail, "EventBusName": self.bus_name}

    def _put(self, entries: list[dict[str, str]]) -> None:
        with aws_errors(f"publish a {self.detail_type} event on the bus {self.bus_name}"):
            if self._client is None:
                self._client = aws_client("events")
            answer = self._client.put_events(Entries=entries)
        if answer.get("FailedEntryCount"):
            code = next((e["ErrorCode"] for e in answer["Entries"] if e.get("ErrorCode")), "unknown")
            raise TransientError(f"EventBridge did not accept the {self.detail_type} event ({code}); try again later.")


_MAX_ENTRIES = 10
_MAX_BYTES = 200 * 1024  # below PutEvents' 256 KB per request, which also counts the other fields


def _batches(entries: Iterable[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    batch: list[dict[str, str]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["Detail"].encode()) + len(entry["DetailType"]) + len(entry["Source"])
        if batch and (len(batch) == _MAX_ENTRIES or size + entry_size > _MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch
