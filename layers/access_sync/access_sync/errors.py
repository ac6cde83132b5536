"""Typed failures. Each message is one sentence a person can act on and never carries a secret.

The exit code tells scripts which kind of failure happened (see docs/operations.md).
"""

from __future__ import annotations


class AccessSyncError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(AccessSyncError):
    """Missing or malformed settings, secrets or arguments."""

    exit_code = 2


class CredentialsError(AccessSyncError):
    """The service refused the credentials, or they lack the rights a sync needs."""

    exit_code = 3


class ReauthorizationRequired(CredentialsError):
    """Gusto answered invalid_grant: the stored refresh token can never work again."""

    exit_code = 4


class UpstreamError(AccessSyncError):
    """The service answered with an error that retrying will not fix."""

    exit_code = 5

    def __init__(self, message: str, status: int | None = None, body: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class TransientError(UpstreamError):
    """Throttling, 5xx, timeouts or lock contention that outlasted our retries; trying later may work."""

    exit_code = 6


class AmbiguousWriteError(TransientError):
    """A change was sent but its answer never came: it may or may not have been made."""


class LeaseBusy(TransientError):
    """Another process holds a lease (the token refresh's, a sync's) for too long."""


class UnreachableError(AccessSyncError):
    """A host that cannot be reached at all: its name does not resolve, nothing listens, or TLS fails.

    Reported after one quick retry instead of the long backoff meant for a service that answers but struggles.
    """

    exit_code = 7
