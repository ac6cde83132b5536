"""Arguments and environment → stores and connections: the openers every command and handler uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from access_sync.connectors.spec import Connection, ConnectorSpec
from access_sync.errors import ConfigurationError
from access_sync.stores.blob import BlobStore, LocalBlobStore
from access_sync.stores.s3 import S3BlobStore
from access_sync.stores.secrets import EnvSecretStore, FileSecretStore, SecretsManagerStore, SecretStore
from access_sync.wiring.settings import LambdaSettings, connector_environment


def open_blob_store(dest: str) -> BlobStore:
    """`s3://bucket/prefix` → S3; anything else is a local folder."""
    if dest.startswith("s3://"):
        bucket, _, prefix = dest[len("s3://") :].partition("/")
        return S3BlobStore(bucket, prefix)
    return LocalBlobStore(dest)


def open_secret_store(credentials: str | None = None, secret_id: str | None = None) -> SecretStore | None:
    if credentials and secret_id:
        raise ConfigurationError("Give either --credentials or --secret-id, not both.")
    if secret_id:
        return SecretsManagerStore(secret_id)
    if credentials:
        return FileSecretStore(credentials)
    return None


def credentials_for(spec: ConnectorSpec, secrets: SecretStore | None) -> SecretStore:
    """The given store, else the connector's environment variables where it has them."""
    if secrets is not None:
        return secrets
    if spec.settings.credentials_env:
        return EnvSecretStore(spec.settings.credentials_env, spec.settings.missing_credentials)
    raise ConfigurationError(spec.settings.missing_credentials)


def local_connection(
    spec: ConnectorSpec,
    secrets: SecretStore | None,
    base_url: str | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    lease_table: str | None = None,
    concurrency: int = 16,
    client_options: Mapping[str, Any] | None = None,
) -> Connection:
    """A connection for the CLI: `base_url` falls back to the connector's variable (e.g. GURU_BASE_URL)."""
    return Connection(
        secrets=credentials_for(spec, secrets),
        base_url=base_url or os.environ.get(spec.settings.base_url_env) or None,
        transport=transport,
        lease_table=lease_table,
        concurrency=concurrency,
        client_options=client_options or {},
    )


def lambda_connection(spec: ConnectorSpec, settings: LambdaSettings) -> Connection:
    env = connector_environment(spec.settings)
    return Connection(
        secrets=SecretsManagerStore(env.secret_id),
        base_url=env.base_url,
        lease_table=settings.idempotency_table,
        concurrency=env.concurrency,
    )
