"""The sync Lambdas' entry logic: environment → connector → snapshot in S3, checkpointing before time runs out;
after a completed sync, the findings (docs/findings.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from access_sync.errors import ConfigurationError
from access_sync.models.sync_events import SyncEvent
from access_sync.stores.s3 import S3BlobStore
from access_sync.sync.deadline import Deadline
from access_sync.sync.service import report_failure, sync_and_report
from access_sync.wiring.connections import lambda_connection
from access_sync.wiring.findings import lambda_findings
from access_sync.wiring.registry import connector_spec
from access_sync.wiring.settings import LambdaSettings


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


def run_lambda_sync(connector: str, event: Any, remaining_millis: Callable[[], int]) -> dict[str, Any]:
    try:
        settings = LambdaSettings.from_env()
        parsed = parse_sync_event(event, connector)
        spec = connector_spec(connector)
        store = S3BlobStore(settings.snapshot_bucket)
        result = sync_and_report(
            spec.syncer(lambda_connection(spec, settings)),
            store,
            parsed,
            deadline=Deadline(lambda: remaining_millis() / 1000.0, settings.sync_safety_margin_seconds),
            checkpoint_max_age=settings.checkpoint_max_age_seconds,
        )
    except Exception as exc:
        report_failure(exc)
        raise
    answer = result.model_dump(mode="json")
    if result.status == "complete":
        answer["findings"] = lambda_findings(store, settings)
    return answer
