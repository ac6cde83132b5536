"""The ProvisioningFunction's entry logic: an SQS batch through Powertools Batch, each record through the service.

Only records that raised are reported as batch item failures, so SQS redelivers just those; outcomes
(including `failed` and `rejected`) are successes from the queue's point of view. The records of a batch are
carried out at once, a request_id's deliveries one after another (provisioning/batch.py).

Importing this module loads only the batch frame. The service, boto3, Powertools Idempotency and the stores
are loaded by the first invocation, and each connector's code by the first request for it
(docs/architecture.md, "Cold start").
"""

from __future__ import annotations

import json
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response

from access_sync.errors import ReauthorizationRequired
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.provisioning.batch import ConcurrentBatchProcessor

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from access_sync.provisioning.provisioner import Provisioner
    from access_sync.provisioning.service import ProvisioningService

# Records carried out at once: a whole batch (BatchSize in template.yaml). Each connector's client keeps its
# own requests within the service's limits, however many items ask at once.
BATCH_WORKERS = 10


@cache
def _service() -> ProvisioningService:
    """Built once per Lambda container; API clients are made on first use and kept warm."""
    from access_sync.provisioning.recorder import OutcomeRecorder
    from access_sync.provisioning.service import ProvisioningService
    from access_sync.stores.eventbridge import EventBridgePublisher
    from access_sync.stores.idempotency import persistence_layer
    from access_sync.stores.s3 import S3BlobStore
    from access_sync.stores.scheduler import ScheduledGrantEnds
    from access_sync.wiring.connections import lambda_connection
    from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END
    from access_sync.wiring.settings import LambdaSettings

    settings = LambdaSettings.from_env()
    provisioners: dict[str, Provisioner] = {}
    building = threading.Lock()

    def provisioner_for(connector: str) -> Provisioner:
        # One provisioner per connector and process, whichever item asks first: its client's limits, and Gusto's
        # token manager (one refresh at a time), are then shared by every item of every batch.
        with building:
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


def request_lane(record: dict[str, Any]) -> str:
    """Deliveries of one request_id share a lane; so do identical bodies without one (the same rejection)."""
    body = record.get("body") or ""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        parsed = None
    request_id = parsed.get("request_id") if isinstance(parsed, dict) else None
    return f"request:{request_id}" if isinstance(request_id, str) else f"body:{body}"


def _record_handler(record: SQSRecord) -> dict[str, Any]:
    logger.thread_safe_append_keys(message_id=record.message_id)  # this item's thread only
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
        logger.thread_safe_remove_keys(["message_id"])


def handle_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = _service()
    service.idempotency.register_lambda_context(context)
    # A batch whose records all fail is flow control (e.g. Gusto throttling), not a crash.
    processor = ConcurrentBatchProcessor(
        request_lane, BATCH_WORKERS, event_type=EventType.SQS, raise_on_entire_batch_failure=False
    )
    return dict(
        process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
    )
