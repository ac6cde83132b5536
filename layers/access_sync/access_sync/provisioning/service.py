"""One request in, one outcome out — the change at most once per request_id, whatever SQS or an operator repeats.

1. The raw body becomes one typed request (or a rejection, recorded and never retried).
2. The change runs inside Powertools Idempotency, keyed on request_id, and nothing else does: its result,
   the outcome, is saved as the idempotency record before anything else happens.
3. What follows from the outcome comes after that, derived from the saved outcome and the request alone, so
   that a redelivery can do it again to the same effect: first the end of a time-bound grant is arranged
   (or a pending end cancelled), then the outcome is recorded (event, then file). A failure there is raised;
   the redelivery finds the saved outcome and does the rest again, without repeating the change. The outcome
   file is written last, so once it is there everything after the change is done, and a later duplicate of
   the request does nothing more (it cannot bring back an end that a revoke has since cancelled).

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

from access_sync.errors import ConfigurationError, TransientError
from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    GrantEnd,
    GrantRequest,
    KnownConnector,
    ProvisioningOutcome,
    ProvisioningRequest,
    Rejection,
    RevokeRequest,
    parse_request,
    utc_text,
)
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.provisioning.attempts import AttemptLog
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.snapshot.layout import iso_now
from access_sync.stores.expiries import GrantEnds

# SQS keeps a message up to 14 days; a duplicate arriving within that window still finds the first outcome.
DEDUPLICATION_SECONDS = 14 * 24 * 3600
# Everything but request_id: the same id with another request is refused instead of answered with the first.
_PAYLOAD = "[connector, action, entitlement_id, principal, grant_id, account, resource, expires_at, duration, reason]"
DONE = frozenset({"succeeded", "already_done"})


def dispatch(provisioner: Provisioner, request: ProvisioningRequest, redelivered: bool) -> ActionResult:
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
        *,
        ends: GrantEnds | None = None,
        no_end: Mapping[str, str] | None = None,
    ) -> None:
        self.provisioner_for = provisioner_for
        self.connectors = connectors
        self.recorder = recorder
        self.attempts = AttemptLog(recorder.store)
        self.clock = clock
        self.ends = ends  # where ends of time-bound grants are kept; None: this deployment cannot end grants
        # Connectors whose grants cannot carry an end, with the reason; looked up one connector at a time.
        self.no_end: Mapping[str, str] = no_end if no_end is not None else {}
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
        # Configured now, before any item runs: Powertools configures the layer on first use and marks it done before
        # it is, so two items of a batch starting at once could otherwise see it half configured.
        persistence.configure(self.idempotency, f"{self._perform.__module__}.{self._perform.__qualname__}")

    def handle(self, raw_body: str, attempts: int = 1) -> Recorded:
        """The one entry point: the SQS record handler and `access-sync provision` both call it."""
        parsed = self.parse(raw_body)
        if isinstance(parsed, Rejection):
            return self._reject(parsed, attempts)
        if isinstance(parsed, GrantRequest) and parsed.time_bound and self.ends is None:
            raise ConfigurationError(
                "This deployment cannot end time-bound grants: set EXPIRY_SCHEDULE_GROUP, "
                "EXPIRY_SCHEDULER_ROLE_ARN and PROVISION_QUEUE_ARN."
            )
        logger.thread_safe_append_keys(request_id=parsed.request_id)  # this item's thread only
        try:
            outcome: ProvisioningOutcome = self._perform_once(request=parsed, attempts=attempts, raw_body=raw_body)
        except IdempotencyValidationError:
            reason = f"request_id {parsed.request_id} was already used for a different request"
            return self._reject(Rejection.of(parsed, reason, raw_body), attempts, own_file=True)
        except IdempotencyAlreadyInProgressError:
            raise TransientError(
                f"Another delivery of request {parsed.request_id} is still being carried out; it will be retried."
            ) from None
        finally:
            logger.thread_safe_remove_keys(["request_id"])
        if self.recorder.is_recorded(outcome):
            recorded = Recorded(outcome, self.recorder.describe(outcome.file_name))
        else:
            self._follow_up(parsed, outcome)
            recorded = Recorded(outcome, self.recorder.record(outcome, checked=True))
        self.attempts.finish(parsed.request_id)
        return recorded

    def parse(self, raw_body: str) -> ProvisioningRequest | Rejection:
        return parse_request(raw_body, self.connectors, self.no_end)

    def refusal(self, request: ProvisioningRequest, now: datetime) -> str | None:
        """Why a well-formed request cannot be carried out at `now`; only an end already past, today."""
        if isinstance(request, GrantRequest) and request.expires_at is not None and request.expires_at <= now:
            return f"expires_at {utc_text(request.expires_at)} is in the past"
        return None

    def superseded(self, request: ProvisioningRequest) -> bool:
        """A time-bound grant's end whose access has since been given a later end: not carried out."""
        if not isinstance(request, RevokeRequest) or not request.ends_a_grant or self.ends is None:
            return False
        pending = self.ends.pending_request_id(request.grant_id)
        return pending is not None and pending != request.request_id

    def _perform(self, request: ProvisioningRequest, attempts: int, raw_body: str) -> ProvisioningOutcome:
        """The change itself, inside the idempotent section; its outcome is saved before anything else happens."""
        started = self.clock()
        if (refusal := self.refusal(request, started)) is not None:
            return self._rejected(Rejection.of(request, refusal, raw_body), attempts)
        if self.superseded(request):
            result = ActionResult(
                status="already_done", message="This end was replaced by a later end of the same access; not revoked."
            )
        else:
            redelivered = attempts > 1
            if isinstance(request, GrantRequest | CreateAccountRequest):  # changes that must not happen twice
                redelivered = self.attempts.begin(request.request_id, iso_now(started)) or redelivered
            result = dispatch(self.provisioner_for(request.connector), request, redelivered=redelivered)
        logger.info("provisioning outcome", extra={"status": result.status, "action": request.action})
        finished = self.clock()
        end = request.end_after(finished) if isinstance(request, GrantRequest) and result.status in DONE else None
        return ProvisioningOutcome(
            request_id=request.request_id,
            connector=request.connector,
            action=request.action,
            status=result.status,
            message=f"{result.message.rstrip('.')} until {utc_text(end)}." if end else result.message,
            resource=result.resource,
            attempts=attempts,
            completed_at=iso_now(finished),
            expires_at=utc_text(end) if end else None,
        )

    def _follow_up(self, request: ProvisioningRequest, outcome: ProvisioningOutcome) -> None:
        """The end a grant or revoke leaves behind: arranged, moved or cancelled (repeatable, see above)."""
        if self.ends is None or request.connector in self.no_end:
            return
        if isinstance(request, RevokeRequest) and request.ends_a_grant:
            # The end has been carried out (whatever its outcome): it is no longer pending, unless replaced.
            if self.ends.pending_request_id(request.grant_id) == request.request_id:
                self.ends.cancel(request.grant_id)
            return
        if outcome.status not in DONE or not isinstance(request, GrantRequest | RevokeRequest):
            return
        if isinstance(request, GrantRequest) and outcome.expires_at:
            end = GrantEnd(
                grant_id=request.grant_id,
                connector=request.connector,
                expires_at=outcome.expires_at,
                granted_by=request.request_id,
            )
            logger.info("time-bound grant: end arranged", extra={"at": self.ends.arrange(end)})
        else:
            self.ends.cancel(request.grant_id)  # a revoke, or the same access granted again without an end

    def _rejected(self, rejection: Rejection, attempts: int) -> ProvisioningOutcome:
        return ProvisioningOutcome(
            request_id=rejection.request_id,
            connector=rejection.connector,
            action=rejection.action,
            status="rejected",
            message=f"The request was rejected: {rejection.reason}.",
            attempts=attempts,
            completed_at=iso_now(self.clock()),
            raw_body=rejection.raw_body,
        )

    def _reject(self, rejection: Rejection, attempts: int, own_file: bool = False) -> Recorded:
        outcome = self._rejected(rejection, attempts)
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
