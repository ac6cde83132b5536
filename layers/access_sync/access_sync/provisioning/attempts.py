"""Which changes an earlier attempt may have begun, whatever counted the deliveries (SQS or nobody).

Before a change that must not be made twice (creating an employee, adding an admin or a member), a marker is
written under provisioning/attempts/. Finding one means an earlier attempt got at least that far and may have
made the change before it died; the provisioner then looks for the change before making it. The marker goes
once the outcome is recorded. This covers what SQS's receive count cannot: an operator's `access-sync
provision` run killed half-way and run again.
"""

from __future__ import annotations

import json

from access_sync.errors import AccessSyncError
from access_sync.observability import logger
from access_sync.stores.blob import BlobStore

ATTEMPTS_PREFIX = "provisioning/attempts"


class AttemptLog:
    def __init__(self, store: BlobStore) -> None:
        self.store = store

    def _key(self, request_id: str) -> str:
        return f"{ATTEMPTS_PREFIX}/{request_id}.json"

    def begin(self, request_id: str, started_at: str) -> bool:
        """Marks the change as begun; True when an earlier attempt had marked it already."""
        marker = json.dumps({"request_id": request_id, "started_at": started_at}).encode()
        return not self.store.put_if_absent(self._key(request_id), marker)

    def finish(self, request_id: str) -> None:
        """Best effort: a marker left behind only makes a later delivery of the request look before it acts."""
        try:
            self.store.delete(self._key(request_id))
        except AccessSyncError as exc:
            logger.warning("could not remove an attempt marker", extra={"reason": exc.message})
