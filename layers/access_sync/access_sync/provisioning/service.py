"""One request in, one outcome out — the change at most once per request_id, whatever SQS or an operator repeats.

1. The raw body becomes one typed request (or a rejection, recorded and never retried).
2. The change runs inside Powertools Idempotency, keyed on request_id, and nothing else does: its result,
   the outcome, is saved as the idempotency record before anything else happens.
3. The outcome is recorded (file, event) after that. A failure there is retried, then raised; the
   redelivery finds the saved outcome and records it again, without repeating the change.

Permanent problems become outcomes (`failed`, `unsupported`, `rejected`). Transient ones (throttling, 5xx,
timeouts, lease contention) and broken configuration raise instead: the message stays on the queue, so SQS
retries it and finally parks it in the DLQ — nothing is lost while an operator fixes the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from access_sync.errors import TransientError
from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    GrantRequest,
    KnownConnector,
    ProvisioningOutcome,
    ProvisioningRequest,
    Rejection,
    RevokeRequest,
    parse_request,
)
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.snapshot.layout import iso_now

# SQS keeps a message up to 14 days; a duplicate arriving within that window still finds the first outcome.
DEDUPLICATION_SECONDS = 14 * 24 * 3600
# Everything but request_id: the same id with another request is refused instead of answered with the first.
_PAYLOAD = "[connector, action, entitlement_id, principal, grant_id, account, resource]"


def _dispatch(provisioner: Provisioner, request: ProvisioningRequest, redelivered: bool) -> ActionResult:
    if isinstance(request, GrantRequest):
        return provisioner.grant(request, redelivered)
    if isinstance(request, RevokeRequest):
        return provisioner.revoke(request, redelivered)
    if isinstance(request, CreateAccountRequest):
        return provisioner.create_account(request, redelivered)
    return provisioner.delete_resource(request, redelivered)


def _note_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    logger.info("duplicate request_id; returning the first outcome")
    metrics.add_metric(name="ProvisioningDuplicate", unit=MetricUnit.Count, value=1)
    return response


@dataclass(frozen=True)
class Recorded:
    outcome: ProvisioningOutcome
    location: str  # where the outcome file is, for a person to open


class ProvisioningService:
    def __init__(
        self,
        provisioner_for: Callable[[str], Provisioner],
        connectors: Mapping[str, KnownConnector],
        recorder: OutcomeRecorder,
        persistence: BasePersistenceLayer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.provisioner_for = provisioner_for
        self.connectors = connectors
        self.recorder = recorder
        self.clock = clock
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="request_id",
            payload_validation_jmespath=_PAYLOAD,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=DEDUPLICATION_SECONDS,
            response_hook=_note_duplicate,
        )
        self._perform_once = idempotent_function(
            data_keyword_argument="request",
            persistence_store=persistence,
            config=self.idempotency,
            output_serializer=PydanticSerializer(model=ProvisioningOutcome),
        )(self._perform)

    def handle(self, raw_body: str, attempts: int = 1) -> Recorded:
        """The one entry point: the SQS record handler and `access-sync provision` both call it."""
        parsed = parse_request(raw_body, self.connectors)
        if isinstance(parsed, Rejection):
            return self._reject(parsed, attempts)
        logger.append_keys(request_id=parsed.request_id)
        try:
            outcome: ProvisioningOutcome = self._perform_once(request=parsed, attempts=attempts)
        except IdempotencyValidationError:
            reason = f"request_id {parsed.request_id} was already used for a different request"
            return self._reject(Rejection.of(parsed, reason, raw_body), attempts, own_file=True)
        except IdempotencyAlreadyInProgressError:
            raise TransientError(
                f"Another delivery of request {parsed.request_id} is still being carried out; it will be retried."
            ) from None
        finally:
            logger.remove_keys(["request_id"])
        return Recorded(outcome, self.recorder.record(outcome))

    def _perform(self, request: ProvisioningRequest, attempts: int) -> ProvisioningOutcome:
        result = _dispatch(self.provisioner_for(request.connector), request, redelivered=attempts > 1)
        logger.info("provisioning outcome", extra={"status": result.status, "action": request.action})
        return ProvisioningOutcome(
            request_id=request.request_id,
            connector=request.connector,
            action=request.action,
            status=result.status,
            message=result.message,
            resource=result.resource,
            attempts=attempts,
            completed_at=iso_now(self.clock()),
        )

    def _reject(self, rejection: Rejection, attempts: int, own_file: bool = False) -> Recorded:
        outcome = ProvisioningOutcome(
            request_id=rejection.request_id,
            connector=rejection.connector,
            action=rejection.action,
            status="rejected",
            message=f"The request was rejected: {rejection.reason}.",
            attempts=attempts,
            completed_at=iso_now(self.clock()),
            raw_body=rejection.raw_body,
        )
        # A rejection never replaces an outcome already filed under its request_id: it gets a file of its own.
        # The same malformed message delivered again finds its first rejection and records nothing more.
        file_name = None
        if not own_file and (filed := self.recorder.read(outcome.file_name)) is not None:
            if filed.status == "rejected" and filed.raw_body == outcome.raw_body:
                return Recorded(filed, self.recorder.describe(outcome.file_name))
            own_file = True
        if own_file:
            file_name = f"{rejection.body_id}.json"
            if (filed := self.recorder.read(file_name)) is not None:
                return Recorded(filed, self.recorder.describe(file_name))
        location = self.recorder.record(outcome, file_name)
        logger.warning("provisioning request rejected", extra={"reason": rejection.reason})
        return Recorded(outcome, location)
