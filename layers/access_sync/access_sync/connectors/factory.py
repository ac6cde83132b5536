"""Builds a connector from where its credentials live; the one place that knows every connector."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from access_sync.connectors.guru.client import GuruClient
from access_sync.connectors.guru.provisioner import GuruProvisioner
from access_sync.connectors.guru.syncer import GuruSyncer
from access_sync.connectors.gusto.client import GustoClient
from access_sync.connectors.gusto.provisioner import GustoProvisioner
from access_sync.connectors.gusto.syncer import GustoSyncer
from access_sync.connectors.gusto.tokens import TokenManager
from access_sync.errors import ConfigurationError
from access_sync.models.secrets import GuruCredentials, GustoCredentials
from access_sync.observability import logger
from access_sync.provisioning.service import Provisioner
from access_sync.stores.lease import DynamoLease, FileLease, Lease, lease_key
from access_sync.stores.secrets import FileSecretStore, SecretStore
from access_sync.sync.connector import SyncConnector


def guru_credentials(secrets: SecretStore | None) -> GuruCredentials:
    """From the secret store when given, else GURU_USER_EMAIL/GURU_API_TOKEN (or BATON_*) in the environment."""
    if secrets is not None:
        parsed: GuruCredentials = GuruCredentials.parse(secrets.read(), secrets.describe())
        return parsed
    email = os.environ.get("GURU_USER_EMAIL") or os.environ.get("BATON_USER_EMAIL")
    token = os.environ.get("GURU_API_TOKEN") or os.environ.get("BATON_API_TOKEN")
    if not email or not token:
        raise ConfigurationError(
            "Guru credentials are missing: set GURU_USER_EMAIL and GURU_API_TOKEN, or pass --secret-id."
        )
    return GuruCredentials(user_email=email, api_token=token)


def guru_client(
    secrets: SecretStore | None,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    **options: Any,
) -> GuruClient:
    return GuruClient(
        guru_credentials(secrets), base_url or os.environ.get("GURU_BASE_URL"), transport=transport, **options
    )


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


def gusto_client(
    secrets: SecretStore | None,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    lease_table: str | None = None,
    **options: Any,
) -> GustoClient:
    """A Gusto client whose tokens rotate safely in `secrets` (shared by the sync and provisioning)."""
    if secrets is None:
        raise ConfigurationError("Gusto credentials are missing: pass --credentials FILE or --secret-id ID.")
    tokens = TokenManager(
        secrets,
        gusto_refresh_lease(secrets, lease_table),
        base_url=base_url or os.environ.get("GUSTO_BASE_URL"),
        transport=transport,
    )
    return GustoClient(tokens, transport=transport, **options)


def build_syncer(
    connector: str,
    secrets: SecretStore | None,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    concurrency: int = 16,
    lease_table: str | None = None,
) -> SyncConnector:
    if connector == "guru":
        return GuruSyncer(guru_client(secrets, base_url, transport, concurrency=concurrency), concurrency)
    if connector == "gusto":
        return GustoSyncer(gusto_client(secrets, base_url, transport, lease_table=lease_table))
    raise ConfigurationError(f"Unknown connector {connector!r}; choose guru or gusto.")


def build_provisioner(
    connector: str,
    secrets: SecretStore | None,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    lease_table: str | None = None,
) -> Provisioner:
    if connector == "guru":
        return GuruProvisioner(guru_client(secrets, base_url, transport))
    if connector == "gusto":
        return GustoProvisioner(gusto_client(secrets, base_url, transport, lease_table=lease_table))
    raise ConfigurationError(f"Unknown connector {connector!r}; choose guru or gusto.")
