"""Guru as the registry sees it: settings, resource types, and how to build its syncer, provisioner and check."""

from __future__ import annotations

from typing import Any

from access_sync.connectors.guru.check import check_guru
from access_sync.connectors.guru.client import GuruClient
from access_sync.connectors.guru.provisioner import GuruProvisioner
from access_sync.connectors.guru.syncer import RESOURCE_TYPES, GuruSyncer
from access_sync.connectors.spec import Connection, ConnectorSettings, ConnectorSpec, checked_with
from access_sync.models.secrets import GuruCredentials


def guru_client(connection: Connection, **options: Any) -> GuruClient:
    credentials = GuruCredentials.parse(connection.secrets.read(), connection.secrets.describe())
    return GuruClient(
        credentials,
        connection.base_url,
        transport=connection.transport,
        **{**connection.client_options, **options},
    )


GURU = ConnectorSpec(
    name="guru",
    display_name="Guru",
    resource_types=RESOURCE_TYPES,
    settings=ConnectorSettings(
        secret_id_env="GURU_SECRET_ID",
        base_url_env="GURU_BASE_URL",
        concurrency_env="GURU_MAX_CONCURRENCY",
        credentials_env={
            "user_email": ("GURU_USER_EMAIL", "BATON_USER_EMAIL"),
            "api_token": ("GURU_API_TOKEN", "BATON_API_TOKEN"),
        },
        missing_credentials=(
            "Guru credentials are missing: set GURU_USER_EMAIL and GURU_API_TOKEN, or pass --secret-id."
        ),
    ),
    syncer=lambda c: GuruSyncer(guru_client(c, concurrency=c.concurrency), c.concurrency),
    provisioner=lambda c: GuruProvisioner(guru_client(c)),
    check=checked_with(guru_client, check_guru),
)
