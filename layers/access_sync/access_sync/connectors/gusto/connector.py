"""Gusto as the registry sees it: settings, resource types, and how to build its syncer, provisioner and check.

Every Gusto client gets a TokenManager whose refreshes are serialised by a lease: a DynamoDB item when the
connection names a lease table (AWS: shared by every function), else a lock file beside the credentials.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from access_sync.connectors.gusto.check import check_gusto
from access_sync.connectors.gusto.client import REQUESTS_PER_MINUTE, GustoClient
from access_sync.connectors.gusto.provisioner import GustoProvisioner
from access_sync.connectors.gusto.syncer import RESOURCE_TYPES, GustoSyncer
from access_sync.connectors.gusto.tokens import TokenManager
from access_sync.connectors.spec import Connection, ConnectorSettings, ConnectorSpec, checked_with
from access_sync.models.secrets import GustoCredentials
from access_sync.observability import logger
from access_sync.stores.lease import DynamoLease, FileLease, Lease, lease_key
from access_sync.stores.rate_budget import SharedRateWindow, rate_key
from access_sync.stores.secrets import FileSecretStore, SecretStore


def gusto_refresh_lease(secrets: SecretStore, lease_table: str | None = None) -> Lease:
    """At most one token refresh per Gusto connection: a DynamoDB lease when there is a table (AWS), else a lock file.

    The DynamoDB lease is keyed by the app's client id, which is the same whether a function names the secret
    by ARN or an operator by name.
    """
    client_id = GustoCredentials.parse(secrets.read(), secrets.describe()).client_id
    if lease_table:
        return DynamoLease(lease_table, lease_key("gusto", client_id))
    if isinstance(secrets, FileSecretStore):
        return FileLease(secrets.path.with_name(f"{secrets.path.name}.lock"))
    digest = hashlib.sha256(client_id.encode()).hexdigest()[:16]
    lock_file = Path(tempfile.gettempdir()) / f"access-sync-gusto-{digest}.lock"
    logger.warning(
        "no lease table: Gusto token refreshes are serialised on this machine only; set IDEMPOTENCY_TABLE "
        "when other machines use the same secret",
        extra={"lock_file": str(lock_file)},
    )
    return FileLease(lock_file)


def gusto_client(connection: Connection) -> GustoClient:
    """A Gusto client whose tokens rotate safely in the connection's secret store.

    With a lease table (AWS), every function of the stack draws on one shared budget of requests per minute,
    so that together they stay under Gusto's limit; without one (the CLI), the limit is this process's own.
    """
    secrets = connection.secrets
    tokens = TokenManager(
        secrets,
        gusto_refresh_lease(secrets, connection.lease_table),
        base_url=connection.base_url,
        transport=connection.transport,
    )
    rate = None
    if connection.lease_table:
        client_id = GustoCredentials.parse(secrets.read(), secrets.describe()).client_id
        rate = SharedRateWindow(connection.lease_table, rate_key("gusto", client_id), REQUESTS_PER_MINUTE)
    return GustoClient(tokens, transport=connection.transport, rate=rate, **connection.client_options)


GUSTO = ConnectorSpec(
    name="gusto",
    display_name="Gusto",
    resource_types=RESOURCE_TYPES,
    settings=ConnectorSettings(
        secret_id_env="GUSTO_SECRET_ID",
        base_url_env="GUSTO_BASE_URL",
        missing_credentials="Gusto credentials are missing: pass --credentials FILE or --secret-id ID.",
    ),
    syncer=lambda c: GustoSyncer(gusto_client(c), c.concurrency),
    provisioner=lambda c: GustoProvisioner(gusto_client(c)),
    check=checked_with(gusto_client, check_gusto),
    grant_end_refused=(
        "Gusto has no API to remove a company admin, so a grant with an end (expires_at or duration) could not "
        "be ended; grant it without one and remove the admin in the Gusto UI when the time comes"
    ),
)
