"""Builds a connector from where its credentials live; the one place that knows every connector."""

from __future__ import annotations

import os
from typing import Any

import httpx

from access_sync.connectors.guru.client import GuruClient
from access_sync.connectors.guru.syncer import GuruSyncer
from access_sync.errors import ConfigurationError
from access_sync.models.secrets import GuruCredentials
from access_sync.stores.secrets import SecretStore
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
    raise ConfigurationError(f"Unknown connector {connector!r}; choose guru or gusto.")
