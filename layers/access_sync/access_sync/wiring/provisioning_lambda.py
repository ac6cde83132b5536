"""The ProvisioningFunction's entry logic: an SQS batch through Powertools Batch, each record through the service.

Only records that raised are reported as batch item failures, so SQS redelivers just those; outcomes
(including `failed` and `rejected`) are successes from the queue's point of view.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from access_sync.errors import ReauthorizationRequired
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.provisioning.service import ProvisioningService
from access_sync.stores.eventbridge import EventBridgePublisher
from access_sync.stores.idempotency import persistence_layer
from access_sync.stores.s3 import S3BlobStore
from access_sync.stores.scheduler import ScheduledGrantEnds
from access_sync.wiring.connections import lambda_connection
from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END
from access_sync.wiring.settings import LambdaSettings


@cache
def _service() -> ProvisioningService:
    """Built once per Lambda container; API clients are made on first use and kept warm."""
    settings = LambdaSettings.from_env()
    provisioners: dict[str, Provisioner] = {}

    def provisioner_for(connector: str) -> Provisioner:
        if connector not in provisioners:
            spec = CONNECTORS[connector]
            provisioners[connector] = spec.provisioner(lambda_connection(spec, settings))
        return provisioners[connector]

    recorder = OutcomeRecorder(S3BlobStore(settings.snapshot_bucket), EventBridgePublisher(settings.event_bus_name))
    scheduling = settings.grant_end_scheduling()
    return ProvisioningService(
        provisioner_for,
        CONNECTORS,
        recorder,
        persistence_layer(settings.require_table()),
        ends=ScheduledGrantEnds(*scheduling) if scheduling else None,
        no_end=NO_GRANT_END,
    )


def _record_handler(record: SQSRecord) -> dict[str, Any]:
    logger.append_keys(message_id=record.message_id)
    attempts = int(record.attributes.approximate_receive_count or 1)
    try:
        return _service().handle(record.body, attempts=attempts).outcome.model_dump(mode="json")
    except Exception as exc:
        # Raised, not recorded: SQS redelivers the message, and the DLQ keeps it if the cause persists.
        metrics.add_metric(name="ProvisioningRetried", unit=MetricUnit.Count, value=1)
        if isinstance(exc, ReauthorizationRequired):
            metrics.add_metric(name="GustoReauthorizationRequired", unit=MetricUnit.Count, value=1)
        reason = getattr(exc, "message", None) or f"{type(exc).__name__} (an unexpected error)"
        logger.warning("provisioning request will be retried", extra={"reason": reason, "attempts": attempts})
        raise
    finally:
        logger.remove_keys(["message_id"])


def handle_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = _service()
    service.idempotency.register_lambda_context(context)
    # A batch whose records all fail is flow control (e.g. Gusto throttling), not a crash.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
    )
