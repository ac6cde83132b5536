"""What each connector declares about itself, in its own folder (`connectors/<name>/connector.py`).

The wiring (access_sync.wiring) holds the registry, one line per connector, and turns arguments, the
environment and secrets into a `Connection`; a connector turns a `Connection` into its syncer, its
provisioner or its credential check. Adding a SaaS is one folder and one registry line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # named in annotations only: importing the registry stays cheap (docs/architecture.md)
    import httpx

    from access_sync.checks import CheckReport
    from access_sync.models.snapshot import ResourceType
    from access_sync.provisioning.provisioner import Provisioner
    from access_sync.stores.secrets import SecretStore
    from access_sync.sync.connector import SyncConnector


class _Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class ConnectorSettings:
    """Where a connector's settings come from, by environment variable name."""

    secret_id_env: str  # the Secrets Manager secret on AWS, e.g. GURU_SECRET_ID
    base_url_env: str  # overrides the real service's URL, e.g. GURU_BASE_URL
    missing_credentials: str  # the sentence when no credentials were given
    # For local runs: credential fields that may come from environment variables (first one set wins).
    credentials_env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    concurrency_env: str | None = None  # requests in flight during a sync, e.g. GURU_MAX_CONCURRENCY


@dataclass(frozen=True)
class Connection:
    """Everything a connector is built from, already resolved by the wiring."""

    secrets: SecretStore
    base_url: str | None = None
    transport: httpx.BaseTransport | None = None
    lease_table: str | None = None  # DynamoDB table for leases shared across functions (AWS)
    concurrency: int = 16
    client_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. fewer retries for a quick check


ClientT = TypeVar("ClientT", bound=_Closable)


def checked_with(
    open_client: Callable[[Connection], ClientT], check: Callable[[ClientT], CheckReport]
) -> Callable[[Connection], CheckReport]:
    """A connector's credential check: open its client, run `check`, close the client whatever happens."""

    def run(connection: Connection) -> CheckReport:
        with closing(open_client(connection)) as client:
            return check(client)

    return run


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    display_name: str
    resource_types: list[ResourceType]
    settings: ConnectorSettings
    syncer: Callable[[Connection], SyncConnector[Any]]
    provisioner: Callable[[Connection], Provisioner]
    check: Callable[[Connection], CheckReport]
    # Why this connector's grants cannot carry an end (expires_at or duration); None when access-sync can
    # revoke them, so that a time-bound grant's end can be carried out.
    grant_end_refused: str | None = None
