"""Findings after a completed sync, on AWS or locally: which store, which events, where remediation goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from access_sync.errors import ConfigurationError
from access_sync.findings.service import FindingsSettings, findings_after_sync
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.stores.blob import BlobStore
from access_sync.stores.eventbridge import EventBridgePublisher
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
        )
    except Exception as exc:
        metrics.add_metric(name="FindingsFailed", unit=MetricUnit.Count, value=1)
        reason = getattr(exc, "message", None) or f"{type(exc).__name__} (an unexpected error)"
        logger.error("findings failed", extra={"reason": reason, "error": type(exc).__name__})
        return {"status": "failed", "reason": reason}
