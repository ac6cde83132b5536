"""Findings after a completed sync, on AWS or locally: which store, which events, where remediation goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from access_sync.errors import AccessSyncError, ConfigurationError
from access_sync.findings.files import run_partition
from access_sync.findings.runs import Completed
from access_sync.findings.service import FindingsSettings, findings_after_sync
from access_sync.models.findings import FindingsManifest
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.stores.blob import BlobStore
from access_sync.stores.eventbridge import EventBridgePublisher
from access_sync.stores.glue import GlueCatalog
from access_sync.stores.sqs import SqsSender
from access_sync.wiring.settings import LambdaSettings


def event_announcer(bus_name: str) -> Callable[[str, dict[str, Any]], None]:
    """(detail type, detail) → an EventBridge event on `bus_name`, source access-sync."""
    publishers: dict[str, EventBridgePublisher] = {}

    def announce(detail_type: str, detail: dict[str, Any]) -> None:
        publisher = publishers.get(detail_type)
        if publisher is None:
            publisher = publishers[detail_type] = EventBridgePublisher(bus_name, detail_type)
        publisher.publish(detail)

    return announce


FINDINGS_TABLE = "findings"


def partition_registrar(store: BlobStore, catalog: GlueCatalog) -> Completed:
    """After a run's manifest: its partition of the findings table, so that Athena sees complete runs only. A
    failure is logged and leaves the run complete (and its remediation going): only Athena misses that run."""

    def register(folder: str, manifest: FindingsManifest) -> None:
        try:
            catalog.add_partitions(FINDINGS_TABLE, [run_partition(store, folder, manifest)])
        except AccessSyncError as exc:
            logger.error("findings partition not registered", extra={"run_id": manifest.run_id, "reason": exc.message})

    return register


def lambda_findings(store: BlobStore, settings: LambdaSettings) -> dict[str, Any]:
    """Runs findings (and remediation when turned on) after a sync; never fails the sync that completed.

    A failure is logged, counted (FindingsFailed, which has its own alarm) and returned in the summary.
    """
    try:
        send = None
        if settings.leaver_remediation != "off" and not settings.remediation_dry_run:
            if not settings.provision_queue_url:
                raise ConfigurationError(
                    "LEAVER_REMEDIATION is on but the function's environment lacks PROVISION_QUEUE_URL."
                )
            send = SqsSender(settings.provision_queue_url).send
        return findings_after_sync(
            store,
            FindingsSettings(
                remediation=settings.leaver_remediation,
                max_per_run=settings.remediation_max_per_run,
                dry_run=settings.remediation_dry_run,
                events_max=settings.finding_events_max,
            ),
            announce=event_announcer(settings.event_bus_name),
            send=send,
            completed=partition_registrar(store, GlueCatalog(settings.glue_database))
            if settings.glue_database
            else None,
        )
    except Exception as exc:
        metrics.add_metric(name="FindingsFailed", unit=MetricUnit.Count, value=1)
        reason = getattr(exc, "message", None) or f"{type(exc).__name__} (an unexpected error)"
        logger.error("findings failed", extra={"reason": reason, "error": type(exc).__name__})
        return {"status": "failed", "reason": reason}
