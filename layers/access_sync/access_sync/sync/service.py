"""Runs one sync and reports it: the logic behind both sync Lambdas and `access-sync sync`."""

from __future__ import annotations

from typing import Any

from access_sync.errors import ReauthorizationRequired
from access_sync.models.sync_events import SyncEvent, SyncResult, SyncSkipped
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.stores.blob import BlobStore
from access_sync.sync.connector import SyncConnector
from access_sync.sync.deadline import Deadline
from access_sync.sync.engine import ProgressCallback, SnapshotPublisher, run_sync


def report_failure(exc: BaseException) -> None:
    """Every failure counts, whatever raised it: the SyncFailed alarm is how operators hear of it."""
    metrics.add_metric(name="SyncFailed", unit=MetricUnit.Count, value=1)
    if isinstance(exc, ReauthorizationRequired):
        metrics.add_metric(name="GustoReauthorizationRequired", unit=MetricUnit.Count, value=1)
    reason = getattr(exc, "message", None) or f"{type(exc).__name__} (an unexpected error)"
    logger.error("sync failed", extra={"reason": reason, "error": type(exc).__name__})


def report_skipped(event: SyncEvent, holder: str) -> SyncSkipped:
    """A run that found another sync of its connector under way: it counts, and it changed nothing."""
    metrics.add_metric(name="SyncSkipped", unit=MetricUnit.Count, value=1)
    reason = f"another {event.connector} sync holds {holder}; this run wrote nothing"
    logger.warning("sync skipped", extra={"reason": reason, "sync_id": event.sync_id})
    return SyncSkipped(
        connector=event.connector,
        sync_id=event.sync_id,
        trigger=event.trigger,
        scheduled_time=event.scheduled_time,
        execution_id=event.execution_id,
        reason=reason,
    )


def sync_and_report(
    connector: SyncConnector[Any],
    store: BlobStore,
    event: SyncEvent,
    *,
    deadline: Deadline | None = None,
    checkpoint_max_age: float = 86400,
    progress: ProgressCallback | None = None,
    publisher: SnapshotPublisher | None = None,
) -> SyncResult:
    try:
        result = run_sync(
            connector,
            store,
            event,
            deadline=deadline,
            checkpoint_max_age=checkpoint_max_age,
            progress=progress,
            publisher=publisher,
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
