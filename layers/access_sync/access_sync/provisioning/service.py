"""One request in, one outcome out — at most once per request_id, whatever SQS or an operator repeats.

Permanent problems become outcomes (`failed`, `unsupported`, `rejected`) and are never retried.
Transient ones (throttling, 5xx, timeouts, lease contention) and broken configuration (credentials)
raise instead: no outcome is written and the message stays on the queue, so SQS retries it and finally
parks it in the DLQ — nothing is lost while an operator fixes the cause.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord

from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    DeleteResourceRequest,
    GrantRequest,
    Outcome,
    ProvisioningRequest,
    Rejection,
    RevokeRequest,
    parse_request,
    request_from_dict,
)
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.snapshot.layout import iso_now
from access_sync.stores.blob import BlobStore

RESULTS_PREFIX = "provisioning/results"
# SQS keeps a message up to 14 days; a duplicate arriving within that window still finds the first outcome.
DEDUPLICATION_SECONDS = 14 * 24 * 3600
_METRIC = {
    "succeeded": "ProvisioningSucceeded",
    "already_done": "ProvisioningAlreadyDone",
    "failed": "ProvisioningFailed",
    "unsupported": "ProvisioningUnsupported",
    "rejected": "ProvisioningRejected",
}


class Provisioner(Protocol):
    def grant(self, request: GrantRequest) -> ActionResult: ...

    def revoke(self, request: RevokeRequest) -> ActionResult: ...

    def create_account(self, request: CreateAccountRequest) -> ActionResult: ...

    def delete_resource(self, request: DeleteResourceRequest) -> ActionResult: ...

    def close(self) -> None: ...


class Publisher(Protocol):
    def publish(self, detail: dict[str, Any]) -> None: ...


class OutcomeRecorder:
    """Files each outcome under provisioning/results/ and, on AWS, announces it on EventBridge."""

    def __init__(self, store: BlobStore, publisher: Publisher | None = None) -> None:
        self.store = store
        self.publisher = publisher

    def record(self, outcome: Outcome) -> None:
        self.store.put_bytes(
            f"{RESULTS_PREFIX}/{outcome.file_name}", outcome.model_dump_json(indent=2, exclude_none=True).encode()
        )
        if self.publisher:
            self.publisher.publish(outcome.model_dump(mode="json", exclude_none=True))
        metrics.add_metric(name=_METRIC[outcome.status], unit=MetricUnit.Count, value=1)

    def describe(self, outcome: Outcome) -> str:
        return self.store.describe(f"{RESULTS_PREFIX}/{outcome.file_name}")


def _dispatch(provisioner: Provisioner, request: ProvisioningRequest) -> ActionResult:
    if isinstance(request, GrantRequest):
        return provisioner.grant(request)
    if isinstance(request, RevokeRequest):
        return provisioner.revoke(request)
    if isinstance(request, CreateAccountRequest):
        return provisioner.create_account(request)
    return provisioner.delete_resource(request)


def _note_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    logger.info("duplicate request_id; returning the first outcome")
    metrics.add_metric(name="ProvisioningDuplicate", unit=MetricUnit.Count, value=1)
    return response


class ProvisioningService:
    def __init__(
        self,
        provisioner_for: Callable[[str], Provisioner],
        recorder: OutcomeRecorder,
        persistence: BasePersistenceLayer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.provisioner_for = provisioner_for
        self.recorder = recorder
        self.clock = clock
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="request_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=DEDUPLICATION_SECONDS,
            response_hook=_note_duplicate,
        )
        self._perform_once = idempotent_function(
            data_keyword_argument="request", persistence_store=persistence, config=self.idempotency
        )(self._perform)

    def handle(self, raw_body: str, attempts: int = 1) -> Outcome:
        """The one entry point: the SQS record handler and `access-sync provision` both call it."""
        parsed = parse_request(raw_body)
        if isinstance(parsed, Rejection):
            return self._reject(parsed, attempts)
        logger.append_keys(request_id=parsed.request_id)
        try:
            result = self._perform_once(request=parsed.model_dump(mode="json"), attempts=attempts)
        finally:
            logger.remove_keys(["request_id"])
        return Outcome.model_validate(result)

    def _perform(self, request: dict[str, Any], attempts: int) -> dict[str, Any]:
        parsed = request_from_dict(request)
        result = _dispatch(self.provisioner_for(parsed.connector), parsed)
        outcome = Outcome(
            request_id=parsed.request_id,
            connector=parsed.connector,
            action=parsed.action,
            status=result.status,
            message=result.message,
            resource=result.resource,
            attempts=attempts,
            completed_at=iso_now(self.clock()),
        )
        self.recorder.record(outcome)
        logger.info("provisioning outcome", extra={"status": outcome.status, "action": outcome.action})
        return outcome.model_dump(mode="json")

    def _reject(self, rejection: Rejection, attempts: int) -> Outcome:
        outcome = Outcome(
            request_id=rejection.request_id,
            connector=rejection.connector,
            action=rejection.action,
            status="rejected",
            message=f"The request was rejected: {rejection.reason}.",
            attempts=attempts,
            completed_at=iso_now(self.clock()),
            raw_body=rejection.raw_body[:65536],
        )
        self.recorder.record(outcome)
        logger.warning("provisioning request rejected", extra={"reason": rejection.reason})
        return outcome
