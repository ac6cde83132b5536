"""Filing outcomes under provisioning/results/ and announcing them on EventBridge, once each.

Recording happens after the change's outcome is saved by the idempotency layer, and may be repeated (a
retry, a redelivery) without repeating the change. The event goes out first and the file last, so an
outcome file that is already there, byte for byte, means the outcome was recorded and announced: a
repeat then does nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from access_sync.errors import TransientError
from access_sync.models.provisioning import ProvisioningOutcome, outcome_key
from access_sync.observability import MetricUnit, metrics
from access_sync.stores.blob import BlobStore

_METRIC = {
    "succeeded": "ProvisioningSucceeded",
    "already_done": "ProvisioningAlreadyDone",
    "failed": "ProvisioningFailed",
    "unsupported": "ProvisioningUnsupported",
    "rejected": "ProvisioningRejected",
}


class Publisher(Protocol):
    def publish(self, detail: dict[str, Any]) -> None: ...


class OutcomeRecorder:
    def __init__(self, store: BlobStore, publisher: Publisher | None = None, attempts: int = 3) -> None:
        self.store = store
        self.publisher = publisher
        self.attempts = attempts

    def key(self, file_name: str) -> str:
        return outcome_key(file_name)

    def read(self, file_name: str) -> ProvisioningOutcome | None:
        raw = self.store.get_bytes(self.key(file_name))
        return ProvisioningOutcome.model_validate_json(raw) if raw is not None else None

    def describe(self, file_name: str) -> str:
        return self.store.describe(self.key(file_name))

    @staticmethod
    def _body(outcome: ProvisioningOutcome) -> bytes:
        # Every field, null ones included: readers find the same keys in every outcome.
        return outcome.model_dump_json(indent=2).encode()

    def is_recorded(self, outcome: ProvisioningOutcome, file_name: str | None = None) -> bool:
        """Whether `outcome` is already filed, byte for byte: then it was announced too (the file comes last)."""
        return self.store.get_bytes(self.key(file_name or outcome.file_name)) == self._body(outcome)

    def record(self, outcome: ProvisioningOutcome, file_name: str | None = None, *, checked: bool = False) -> str:
        """Files and announces `outcome` (under `file_name`, default `<request_id>.json`); returns where it is.
        `checked`: the caller has just seen, with `is_recorded`, that it is not filed yet.

        Transient failures are retried a few times here, then raised: the caller's retry records again.
        """
        key = self.key(file_name or outcome.file_name)
        body = self._body(outcome)
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                first = attempt.retry_state.attempt_number == 1
                if not (checked and first) and self.store.get_bytes(key) == body:
                    return self.store.describe(key)  # recorded by an earlier attempt
                if self.publisher:
                    self.publisher.publish(outcome.model_dump(mode="json"))
                self.store.put_bytes(key, body)
        metrics.add_metric(name=_METRIC[outcome.status], unit=MetricUnit.Count, value=1)
        return self.store.describe(key)
