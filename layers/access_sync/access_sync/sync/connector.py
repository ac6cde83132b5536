"""What the engine needs from a connector (the baton-sdk idea, reduced to one resumable method)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from pydantic import BaseModel

from access_sync.models.snapshot import ResourceType
from access_sync.snapshot.writer import RecordSink
from access_sync.sync.deadline import Deadline

if TYPE_CHECKING:  # an annotation only: a sync handler's import does not load httpx and the rate limiter
    from access_sync.http.client import ApiClient

StateT = TypeVar("StateT", bound=BaseModel)


@dataclass
class SyncContext(Generic[StateT]):
    """`state` is the connector's own model: saved at each checkpoint, handed back on resume.

    A connector changes `state` only on the calling thread and only after the records it describes were
    given to `sink`, and checks `deadline.should_stop()` between pages.
    """

    sink: RecordSink
    deadline: Deadline
    state: StateT


class SyncConnector(Protocol[StateT]):
    name: str
    resource_types: list[ResourceType]
    state_model: type[StateT]

    @property
    def base_url(self) -> str: ...

    @property
    def requests(self) -> int: ...

    def sync(self, ctx: SyncContext[StateT]) -> bool:
        """Writes records to ctx.sink; True when everything is written, False when stopped for a checkpoint."""
        ...

    def close(self) -> None: ...


class _ApiBacked(Protocol):
    api: ApiClient

    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_ApiBacked)


class ClientSyncer(Generic[ClientT]):
    """What every syncer shares: its API client, the client's base URL and request count, closing it."""

    def __init__(self, client: ClientT, concurrency: int) -> None:
        self.client = client
        self.concurrency = concurrency

    @property
    def base_url(self) -> str:
        return self.client.api.base_url

    @property
    def requests(self) -> int:
        return self.client.api.requests

    def close(self) -> None:
        self.client.close()
