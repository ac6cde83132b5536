"""Runs one sync and reports it: the logic behind both sync Lambdas and `access-sync sync`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from access_sync.errors import AccessSyncError, ConfigurationError, ReauthorizationRequired
from access_sync.models.events import SyncEvent, SyncResult
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.stores.blob import BlobStore
from access_sync.sync.connector import SyncConnector
from access_sync.sync.deadline import Deadline
from access_sync.sync.engine import ProgressCallback, run_sync


def parse_sync_event(event: Any, connector: str) -> SyncEvent:
    try:
        parsed = SyncEvent.model_validate(event)
    except ValidationError:
        raise ConfigurationError(
            f"The {connector} sync was invoked with an event it cannot read; "
            f'expected {{"connector": "{connector}", ...}} as in events/{connector}_sync_schedule.json.'
        ) from None
    if parsed.connector != connector:
        raise ConfigurationError(f"The {connector} sync function was invoked with a {parsed.connector} event.")
    return parsed


def sync_and_report(
    connector: SyncConnector,
    store: BlobStore,
    event: SyncEvent,
    *,
    deadline: Deadline | None = None,
    checkpoint_max_age: float = 86400,
    progress: ProgressCallback | None = None,
) -> SyncResult:
    try:
        result = run_sync(
            connector,
            store,
            event,
            deadline=deadline,
            checkpoint_max_age=checkpoint_max_age,
            progress=progress,
        )
    finally:
        metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=connector.requests)
        connector.close()
    if result.status == "complete" and result.counts:
        metrics.add_metric(name="SyncSucceeded", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ResourcesSynced", unit=MetricUnit.Count, value=sum(result.counts.resources.values()))
        metrics.add_metric(name="GrantsSynced", unit=MetricUnit.Count, value=result.counts.grants)
    else:
        metrics.add_metric(name="SyncCheckpointed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="SyncDuration", unit=MetricUnit.Seconds, value=result.duration_seconds)
    return result


def lambda_deadline(remaining_millis: Callable[[], int], margin: float) -> Deadline:
    return Deadline(lambda: remaining_millis() / 1000.0, margin)


def run_lambda_sync(connector: str, event: Any, remaining_millis: Callable[[], int]) -> dict[str, Any]:
    """The sync Lambdas' logic: environment → connector → snapshot in S3, checkpointing before time runs out."""
    from access_sync.connectors.factory import build_syncer
    from access_sync.settings import LambdaSettings
    from access_sync.stores.s3 import S3BlobStore
    from access_sync.stores.secrets import SecretsManagerStore

    try:
        settings = LambdaSettings.from_env()
        parsed = parse_sync_event(event, connector)
        syncer = build_syncer(
            connector,
            SecretsManagerStore(settings.require(f"{connector}_secret_id")),
            getattr(settings, f"{connector}_base_url"),
            concurrency=settings.guru_max_concurrency,
            lease_table=settings.idempotency_table,
        )
        result = sync_and_report(
            syncer,
            S3BlobStore(settings.snapshot_bucket),
            parsed,
            deadline=lambda_deadline(remaining_millis, settings.sync_safety_margin_seconds),
            checkpoint_max_age=settings.checkpoint_max_age_seconds,
        )
    except AccessSyncError as exc:
        # Every failure counts, configuration included: the SyncFailed alarm is how operators hear of it.
        metrics.add_metric(name="SyncFailed", unit=MetricUnit.Count, value=1)
        if isinstance(exc, ReauthorizationRequired):
            metrics.add_metric(name="GustoReauthorizationRequired", unit=MetricUnit.Count, value=1)
        logger.error("sync failed", extra={"reason": exc.message, "error": type(exc).__name__})
        raise
    return result.model_dump(mode="json")
