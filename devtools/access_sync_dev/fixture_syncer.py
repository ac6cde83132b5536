"""A connector that writes the records it is given: real snapshots, in the engine's own format, without an API.

Tests and benchmarks build organisations with it (records may be a generator, so a benchmark can write
600,000 grants without holding them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceType
from access_sync.models.sync_events import SyncEvent, SyncResult
from access_sync.stores.blob import BlobStore
from access_sync.sync.connector import SyncContext
from access_sync.sync.engine import run_sync, utc_now


class NoState(BaseModel):
    pass


@dataclass
class FixtureSyncer:
    name: str
    resource_types: list[ResourceType]
    resources: Iterable[Resource]
    entitlements: Iterable[Entitlement]
    grants: Iterable[Grant | tuple[str, str, str]] = ()  # a Grant, or (entitlement, principal type, principal id)
    state_model: type[NoState] = field(default=NoState)
    base_url: str = "fixture://"
    requests: int = 0

    def sync(self, ctx: SyncContext[NoState]) -> bool:
        for resource in self.resources:
            ctx.sink.resource(resource)
        for entitlement in self.entitlements:
            ctx.sink.entitlement(entitlement)
        for grant in self.grants:
            if isinstance(grant, Grant):
                ctx.sink.grant(grant)
            else:
                ctx.sink.grant_to(*grant)
        return True

    def close(self) -> None:
        pass


def write_snapshot(store: BlobStore, syncer: FixtureSyncer, clock: Callable[[], datetime] = utc_now) -> SyncResult:
    return run_sync(syncer, store, SyncEvent(connector=syncer.name, trigger="fixture"), clock=clock)
