"""boto3 clients, built on first use and then shared by every caller in the process.

Importing boto3 costs a large part of a handler's cold start, so no module imports it at the top: it is loaded
when the first client is needed. A client is thread-safe once built, but building one from boto3's default
session is not, and provisioning carries out the items of a batch in threads: clients are built here, one at a
time, and each service's client is built once.
"""

from __future__ import annotations

import threading
from typing import Any

_BUILDING = threading.Lock()
_CLIENTS: dict[tuple[str, int | None], Any] = {}


def aws_client(service: str, max_attempts: int | None = None) -> Any:
    """The process's client for `service`; `max_attempts` asks for botocore's standard retries, that many times."""
    key = (service, max_attempts)
    client = _CLIENTS.get(key)
    if client is None:
        with _BUILDING:
            client = _CLIENTS.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                config = Config(retries={"mode": "standard", "max_attempts": max_attempts}) if max_attempts else None
                client = _CLIENTS[key] = boto3.client(service, config=config)  # type: ignore[call-overload]
    return client


def forget_aws_clients() -> None:
    """Drops every client built so far (tests: each gets clients of its own moto account)."""
    with _BUILDING:
        _CLIENTS.clear()
