"""The sync Lambdas' entry logic: environment → connector → snapshot in S3, checkpointing before time runs out;
after a completed sync, the findings (docs/findings.md).

One sync per connector at a time, without reserved concurrency: each invocation holds the sync lease
(`sync#<connector>` in the IdempotencyTable) while it works. A checkpointed invocation hands the lease to its
own sync id for `HAND_OVER_SECONDS`, so the next invocation of that sync takes it back while a run of any other
sync finds it held and returns `skipped` (which the state machine counts as success).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from access_sync.errors import ConfigurationError
from access_sync.models.sync_events import SyncEvent
from access_sync.stores.eventbridge import EventBridgePublisher
from access_sync.stores.glue import GlueCatalog
from access_sync.stores.lease import DynamoLease, sync_lease_key
from access_sync.stores.s3 import S3BlobStore
from access_sync.sync.announce import SnapshotAnnouncer
from access_sync.sync.deadline import Deadline
from access_sync.sync.service import report_failure, report_skipped, sync_and_report
from access_sync.wiring.connections import lambda_connection
from access_sync.wiring.findings import lambda_findings
from access_sync.wiring.registry import connector_spec
from access_sync.wiring.settings import LambdaSettings

# Longer than the state machine's retries between two invocations of one sync (about five minutes at most).
HAND_OVER_SECONDS = 900.0


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


def announcer(settings: LambdaSettings) -> SnapshotAnnouncer:
    """On AWS a complete snapshot gets its Athena partitions and its Snapshot Completed / Access Changed events."""
    return SnapshotAnnouncer(
        catalog=GlueCatalog(settings.glue_database) if settings.glue_database else None,
        completed=EventBridgePublisher(settings.event_bus_name, "Snapshot Completed"),
        changed=EventBridgePublisher(settings.event_bus_name, "Access Changed"),
        max_change_events=settings.change_events_max,
    )


def run_lambda_sync(connector: str, event: Any, remaining_millis: Callable[[], int]) -> dict[str, Any]:
    try:
        settings = LambdaSettings.from_env()
        parsed = parse_sync_event(event, connector)
        spec = connector_spec(connector)
        store = S3BlobStore(settings.snapshot_bucket)
        lease = DynamoLease(settings.require_table(), sync_lease_key(connector), purpose="sync lease")
        with lease.take(parsed.sync_id if parsed.resumes and parsed.sync_id else uuid.uuid4().hex) as tenure:
            if tenure is None:
                return report_skipped(parsed, lease.describe()).model_dump(mode="json")
            result = sync_and_report(
                spec.syncer(lambda_connection(spec, settings)),
                store,
                parsed,
                deadline=Deadline(lambda: remaining_millis() / 1000.0, settings.sync_safety_margin_seconds),
                checkpoint_max_age=settings.checkpoint_max_age_seconds,
                publisher=announcer(settings),
            )
            if result.status == "in_progress":
                tenure.hand_over(result.sync_id, HAND_OVER_SECONDS)
    except Exception as exc:
        report_failure(exc)
        raise
    answer = result.model_dump(mode="json")
    if result.status == "complete":
        answer["findings"] = lambda_findings(store, settings)
    return answer
