"""Arguments and environment → stores and connections: the openers every command and handler uses."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from access_sync.connectors.spec import Connection, ConnectorSpec
from access_sync.errors import ConfigurationError
from access_sync.snapshot.layout import connector_prefix
from access_sync.stores.blob import BlobStore, LocalBlobStore
from access_sync.stores.lease import DynamoLease, FileLease, Lease, sync_lease_key
from access_sync.stores.s3 import S3BlobStore
from access_sync.stores.secrets import EnvSecretStore, FileSecretStore, SecretsManagerStore, SecretStore
from access_sync.wiring.settings import LambdaSettings, connector_environment

if TYPE_CHECKING:  # an annotation only: a handler's import does not load httpx
    import httpx

# S3's rules for bucket names, in short: 3 to 63 lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def open_blob_store(dest: str) -> BlobStore:
    """`s3://bucket/prefix` → S3; anything else is a local folder."""
    if dest.startswith("s3://"):
        bucket, _, prefix = dest[len("s3://") :].partition("/")
        if not _BUCKET.match(bucket):
            raise ConfigurationError(
                f"{dest} names no usable S3 bucket: give --out s3://BUCKET/PREFIX with the bucket's name."
            )
        return S3BlobStore(bucket, prefix)
    return LocalBlobStore(dest)


def open_destination(dest: str, writes_under: str) -> BlobStore:
    """The DEST of a command, checked before anything else happens: a folder that can be written (and is not a
    file), or a bucket this machine's AWS credentials may write to, under the prefix the command writes."""
    store = open_blob_store(dest)
    store.check_writable(writes_under)
    return store


def local_sync_lease(store: BlobStore, connector: str) -> Lease | None:
    """What keeps two local syncs of one connector from writing to one DEST at once: a lock file beside a local
    folder's snapshots; for S3, the stack's sync lease when IDEMPOTENCY_TABLE names its table, else nothing."""
    if isinstance(store, LocalBlobStore):
        return FileLease(store.root / connector_prefix(connector) / ".sync.lock", purpose="sync lock")
    table = os.environ.get("IDEMPOTENCY_TABLE")
    return DynamoLease(table, sync_lease_key(connector), purpose="sync lease") if table else None


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
        base_url=checked_base_url(spec, base_url),
        transport=transport,
        lease_table=lease_table,
        concurrency=concurrency,
        client_options=client_options or {},
    )


def checked_base_url(spec: ConnectorSpec, given: str | None = None) -> str | None:
    """`--base-url` when given, else the connector's variable (e.g. GURU_BASE_URL); refused at once without
    http(s)://, naming where it came from. None: the real service."""
    variable = spec.settings.base_url_env
    url, source = (given, "--base-url") if given else (os.environ.get(variable), variable)
    if not url:
        return None
    if not url.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"The {spec.display_name} base URL {url} (from {source}) must start with https:// or http://."
        )
    return url


def lambda_connection(spec: ConnectorSpec, settings: LambdaSettings) -> Connection:
    env = connector_environment(spec.settings)
    return Connection(
        secrets=SecretsManagerStore(env.secret_id),
        base_url=checked_base_url(spec),
        lease_table=settings.idempotency_table,
        concurrency=env.concurrency,
    )
