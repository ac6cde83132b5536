"""Every change at most once and every request one outcome, whatever single fault happens around the change.

Each test makes one thing fail around a `create_account` (the change whose repetition is an incident: a
duplicate employee in a payroll system), redelivers the message as SQS would, and counts what reached Gusto.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from access_sync.connectors.gusto.client import GustoClient
from access_sync.errors import TransientError
from access_sync.stores.eventbridge import EventBridgePublisher
from access_sync.stores.s3 import S3BlobStore
from access_sync_sim.gusto import GustoSimulator
from tests.helpers import LocalLambdaContext, sqs_event
from tests.integration.conftest import BUCKET, Handler, outcome, request

HIRE = request(
    "hire-grace",
    "gusto",
    "create_account",
    account={"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com", "self_onboarding": True},
)


def employee_posts(gusto: GustoSimulator) -> int:
    return len([m for m in gusto.mutations if m[0] == "POST" and m[1].endswith("/employees")])


def result_files() -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="provisioning/results/")
    return sorted(item["Key"].rsplit("/", 1)[1] for item in listed.get("Contents", []))


def deliver(handler: Handler, body: str, receive_count: int, remaining_ms: int = 900_000) -> list[str]:
    """One delivery of `body`; the message ids SQS would redeliver."""
    context = LocalLambdaContext(remaining_millis=[remaining_ms])
    response = handler(sqs_event(body, receive_count=receive_count), context)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def fail_first(calls: int, error: BaseException) -> Any:
    """A side effect that raises `error` on the first `calls` calls, then lets the real call through."""
    seen = {"calls": 0}

    def wrap(real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen["calls"] += 1
            if seen["calls"] <= calls:
                raise error
            return real(*args, **kwargs)

        return call

    return wrap


def test_an_eventbridge_failure_after_the_change_never_repeats_it(
    handler: Handler, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrap = fail_first(3, TransientError("EventBridge did not accept the event (ThrottlingException)."))
    monkeypatch.setattr(EventBridgePublisher, "publish", wrap(EventBridgePublisher.publish))

    assert len(deliver(handler, HIRE, receive_count=1)) == 1  # recording failed: SQS will redeliver
    assert employee_posts(gusto) == 1 and result_files() == []
    assert deliver(handler, HIRE, receive_count=2) == []

    assert employee_posts(gusto) == 1
    assert result_files() == ["hire-grace.json"]
    assert outcome("hire-grace")["status"] == "succeeded" and outcome("hire-grace")["attempts"] == 1


def test_an_s3_outcome_write_failure_after_the_change_never_repeats_it(
    handler: Handler, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put = S3BlobStore.put_bytes
    failures = {"left": 3}

    def flaky_put(self: S3BlobStore, key: str, data: bytes, content_type: str = "application/json") -> None:
        if key.startswith("provisioning/results/") and failures["left"]:
            failures["left"] -= 1
            raise TransientError("AWS failed to write the outcome (SlowDown); try again later.")
        real_put(self, key, data, content_type)

    monkeypatch.setattr(S3BlobStore, "put_bytes", flaky_put)

    assert len(deliver(handler, HIRE, receive_count=1)) == 1
    assert deliver(handler, HIRE, receive_count=2) == []

    assert employee_posts(gusto) == 1
    assert result_files() == ["hire-grace.json"]
    assert outcome("hire-grace")["status"] == "succeeded"


class Killed(BaseException):
    """The function dying (timeout, SIGKILL, out of memory): nothing in the process gets to clean up."""


def dies_after(change: Any) -> Any:
    """`change`, made for real, after which the function dies before anything else happens."""

    def call(*args: Any, **kwargs: Any) -> Any:
        change(*args, **kwargs)
        raise Killed()

    return call


def test_a_crash_between_the_change_and_its_record_is_found_not_repeated(
    handler: Handler, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GustoClient, "create_employee", dies_after(GustoClient.create_employee))
    # The function had three seconds left, so its in-progress record expires three seconds from now.
    with pytest.raises(Killed):
        deliver(handler, HIRE, receive_count=1, remaining_ms=3000)
    monkeypatch.undo()
    assert employee_posts(gusto) == 1 and result_files() == []

    # Redelivered while the dead attempt's record is still in progress: retried later, nothing sent.
    assert len(deliver(handler, HIRE, receive_count=2)) == 1
    assert employee_posts(gusto) == 1

    time.sleep(3.2)  # the in-progress record has expired: the next delivery carries the request out
    assert deliver(handler, HIRE, receive_count=3) == []

    assert employee_posts(gusto) == 1  # found by email, not created again
    assert result_files() == ["hire-grace.json"]
    final = outcome("hire-grace")
    assert final["status"] == "succeeded" and final["attempts"] == 3
    assert final["resource"]["email"] == "grace@example.com"


def test_a_redelivery_of_an_admin_grant_that_landed_reports_it_done_once(
    handler: Handler, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant = request(
        "admin-ada",
        "gusto",
        "grant",
        entitlement_id=f"company:{gusto.company_uuid}:admin",
        principal={"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
    )
    monkeypatch.setattr(GustoClient, "create_admin", dies_after(GustoClient.create_admin))
    with pytest.raises(Killed):
        deliver(handler, grant, receive_count=1, remaining_ms=1000)
    monkeypatch.undo()
    time.sleep(1.2)
    assert deliver(handler, grant, receive_count=2) == []

    admin_posts = [m for m in gusto.mutations if m[0] == "POST" and m[1].endswith("/admins")]
    assert len(admin_posts) == 1
    assert outcome("admin-ada")["status"] == "succeeded"


def test_a_malformed_message_reusing_a_request_id_keeps_the_first_outcome(handler: Handler) -> None:
    assert deliver(handler, HIRE, receive_count=1) == []
    first = outcome("hire-grace")
    broken = json.dumps({"request_id": "hire-grace", "connector": "gusto", "action": "create_account"})
    assert deliver(handler, broken, receive_count=1) == []

    assert outcome("hire-grace") == first
    rejected = [name for name in result_files() if name.startswith("rejected-")]
    assert len(rejected) == 1
    assert outcome(rejected[0][:-5])["status"] == "rejected" and outcome(rejected[0][:-5])["raw_body"] == broken


def test_the_same_request_id_for_another_request_is_rejected_and_changes_nothing(
    handler: Handler, gusto: GustoSimulator
) -> None:
    assert deliver(handler, HIRE, receive_count=1) == []
    other = HIRE.replace("Grace", "Mallory")
    assert deliver(handler, other, receive_count=1) == []

    assert employee_posts(gusto) == 1
    assert outcome("hire-grace")["message"].startswith("Employee Grace Hopper")
    rejected = [name for name in result_files() if name.startswith("rejected-")]
    assert len(rejected) == 1
    assert "was already used for a different request" in outcome(rejected[0][:-5])["message"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"request_id": "deep", "x": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ('{"request_id": "lone", "connector": "gusto", "action": "\\ud800"}', "unknown action"),
        (
            request("nul", "gusto", "create_account", account={"first_name": "A\u0000", "last_name": "B"}),
            "control",
        ),
        (
            request("bidi", "gusto", "create_account", account={"first_name": "Eve\u202e", "last_name": "B"}),
            "bidirectional",
        ),
        (
            request("huge", "gusto", "create_account", account={"first_name": "A" * 300_000, "last_name": "B"}),
            "larger than",
        ),
        (
            request("long", "gusto", "create_account", account={"first_name": "A" * 101, "last_name": "B"}),
            "at most 100 characters",
        ),
    ],
)
def test_bodies_that_can_never_work_are_rejected_once_not_retried(
    handler: Handler, gusto: GustoSimulator, body: str, reason: str
) -> None:
    assert deliver(handler, body, receive_count=1) == []
    files = result_files()
    assert len(files) == 1
    filed = outcome(files[0][:-5])
    assert filed["status"] == "rejected" and reason in filed["message"]
    assert len(filed["raw_body"]) <= 16 * 1024
    assert employee_posts(gusto) == 0


def test_a_malformed_message_delivered_twice_is_filed_once(handler: Handler) -> None:
    broken = json.dumps({"request_id": "typo", "connector": "gusto", "action": "grnat"})
    assert deliver(handler, broken, receive_count=1) == []
    first = outcome("typo")
    assert deliver(handler, broken, receive_count=1) == []  # SQS delivered it again
    assert result_files() == ["typo.json"] and outcome("typo") == first
