"""Where the pending ends of time-bound grants are kept: one protocol, two places (docs/provisioning.md).

On AWS an EventBridge Scheduler schedule per grant (stores/scheduler.py); locally a JSON record per grant
under `provisioning/expiries/` in the destination, carried out by `access-sync expire`. Either way an end is
named from the grant alone, so arranging a later end of the same access replaces the earlier one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from access_sync.models import ids
from access_sync.models.provisioning import GrantEnd
from access_sync.observability import logger
from access_sync.stores.blob import BlobStore

EXPIRIES_PREFIX = "provisioning/expiries"


class GrantEnds(Protocol):
    def arrange(self, end: GrantEnd) -> str:
        """Creates or replaces the end of `end.grant_id`; returns where it is, for a person to look."""
        ...

    def pending_request_id(self, grant_id: str) -> str | None:
        """The request_id of the revoke that the grant's pending end would send, or None when none is pending."""
        ...

    def cancel(self, grant_id: str) -> None:
        """Removes the grant's pending end; nothing pending is not an error."""
        ...


class StoredGrantEnds:
    """Ends kept as `provisioning/expiries/<expire-…>.json` in a BlobStore: what `access-sync expire` reads."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    def key(self, grant_id: str) -> str:
        return f"{EXPIRIES_PREFIX}/{ids.grant_end_name(grant_id)}.json"

    def arrange(self, end: GrantEnd) -> str:
        record = {**end.model_dump(), "request": end.revoke_request()}
        key = self.key(end.grant_id)
        self.store.put_bytes(key, json.dumps(record, indent=2).encode())
        return self.store.describe(key)

    def _read(self, key: str) -> GrantEnd | None:
        raw = self.store.get_bytes(key)
        if raw is None:
            return None
        try:
            fields = json.loads(raw)
            return GrantEnd.model_validate({name: fields.get(name) for name in GrantEnd.model_fields})
        except (ValueError, ValidationError, AttributeError):
            logger.warning("an expiry record is not readable and was skipped", extra={"key": key})
            return None

    def pending_request_id(self, grant_id: str) -> str | None:
        end = self._read(self.key(grant_id))
        return end.request_id if end else None

    def cancel(self, grant_id: str) -> None:
        self.store.delete(self.key(grant_id))

    def pending(self) -> Iterator[GrantEnd]:
        for key in self.store.list_keys(f"{EXPIRIES_PREFIX}/"):
            if key.endswith(".json") and (end := self._read(key)) is not None:
                yield end

    def due(self, now: datetime) -> list[GrantEnd]:
        return sorted((end for end in self.pending() if end.when <= now), key=lambda end: end.expires_at)
