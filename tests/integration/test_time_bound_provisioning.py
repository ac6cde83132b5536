"""Time-bound Guru grants on AWS: the real ProvisioningFunction handler, moto's EventBridge Scheduler and SQS.

moto keeps schedules but never fires them; each test fires one by hand, putting its input on the queue as
Scheduler would and handing what SQS delivers to the handler, as Lambda's poller would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from access_sync.errors import TransientError
from access_sync.stores.scheduler import ScheduledGrantEnds
from access_sync_dev.demo import sqs_record
from access_sync_sim.guru import GuruSimulator
from tests.helpers import LocalLambdaContext, guru_grant, guru_outsider, sqs_event
from tests.integration.conftest import EXPIRY_GROUP as GROUP
from tests.integration.conftest import EXPIRY_ROLE as ROLE
from tests.integration.conftest import Handler, outcome, request


class Queue:
    def __init__(self) -> None:
        self.sqs: Any = boto3.client("sqs")
        dlq = self.sqs.create_queue(QueueName="provision-dlq")["QueueUrl"]
        self.dlq = dlq
        redrive = json.dumps({"deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": "5"})
        self.url = self.sqs.create_queue(
            QueueName="provision", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "0"}
        )["QueueUrl"]

    def arn(self, url: str) -> str:
        return str(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    def deliver(self, handler: Handler) -> list[str]:
        """One poll as Lambda's SQS poller makes it: the batch to the handler, then the successes deleted."""
        received = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"])
        messages = received.get("Messages", [])
        if not messages:
            return []
        response = handler({"Records": [sqs_record(m) for m in messages]}, LocalLambdaContext())
        failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return failed

    def count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.fixture
def queue(handler: Handler, monkeypatch: pytest.MonkeyPatch) -> Iterator[Queue]:
    made = Queue()
    monkeypatch.setenv("PROVISION_QUEUE_ARN", made.arn(made.url))  # the handler is built on its first batch
    yield made


def schedules() -> list[dict[str, Any]]:
    scheduler = boto3.client("scheduler")
    listed = scheduler.list_schedules(GroupName=GROUP)["Schedules"]
    return [scheduler.get_schedule(Name=item["Name"], GroupName=GROUP) for item in listed]


def fire(queue: Queue, schedule: dict[str, Any]) -> None:
    """What Scheduler does at the end: the schedule's input becomes a message on its target queue."""
    assert schedule["Target"]["Arn"] == queue.arn(queue.url)
    queue.sqs.send_message(QueueUrl=queue.url, MessageBody=schedule["Target"]["Input"])


@pytest.fixture
def access(guru: GuruSimulator) -> tuple[str, str]:
    return guru_outsider(guru)


def grant(request_id: str, access: tuple[str, str], **end: str) -> str:
    return json.dumps(guru_grant(request_id, access, **end))


def grant_id(access: tuple[str, str]) -> str:
    return f"group:{access[0]}:member:user:{access[1]}"


def deletes(guru: GuruSimulator) -> int:
    return len([m for m in guru.mutations if m[0] == "DELETE"])


def test_a_time_bound_grant_leaves_one_schedule_whose_input_ends_the_access_once(
    handler: Handler, queue: Queue, guru: GuruSimulator, access: tuple[str, str]
) -> None:
    assert handler(sqs_event(grant("tb-1", access, duration="PT2H")), LocalLambdaContext()) == {"batchItemFailures": []}
    granted = outcome("tb-1")
    assert granted["status"] == "succeeded" and guru.is_member(*access)
    expires_at = granted["expires_at"]
    assert expires_at and expires_at.endswith("Z")

    (schedule,) = schedules()
    assert schedule["ScheduleExpression"] == f"at({expires_at[:-1]})"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["RoleArn"] == ROLE
    end = json.loads(schedule["Target"]["Input"])
    assert end["request_id"].startswith("expire:") and len(end["request_id"]) == len("expire:") + 32
    assert end == {
        "request_id": end["request_id"],
        "connector": "guru",
        "action": "revoke",
        "grant_id": grant_id(access),
        "reason": "expired",
    }

    fire(queue, schedule)
    assert queue.deliver(handler) == []
    assert not guru.is_member(*access)
    ended = outcome(end["request_id"])
    assert ended["status"] == "succeeded" and ended["action"] == "revoke"

    fire(queue, schedule)  # a schedule that fires twice changes nothing twice
    assert queue.deliver(handler) == []
    assert deletes(guru) == 1 and outcome(end["request_id"]) == ended


def test_a_later_grant_replaces_the_schedule_and_a_manual_revoke_deletes_it(
    handler: Handler, queue: Queue, access: tuple[str, str]
) -> None:
    handler(sqs_event(grant("tb-1", access, duration="PT2H")), LocalLambdaContext())
    handler(sqs_event(grant("tb-2", access, expires_at="2027-01-15T18:00:00Z")), LocalLambdaContext())

    (schedule,) = schedules()
    assert schedule["ScheduleExpression"] == "at(2027-01-15T18:00:00)"
    assert outcome("tb-2")["expires_at"] == "2027-01-15T18:00:00Z"

    handler(sqs_event(request("manual", "guru", "revoke", grant_id=grant_id(access))), LocalLambdaContext())
    assert outcome("manual")["status"] == "succeeded"
    assert schedules() == []


def test_a_transient_failure_of_the_end_is_retried_by_sqs_then_parked_in_the_dead_letter_queue(
    handler: Handler, queue: Queue, guru: GuruSimulator, access: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler(sqs_event(grant("tb-1", access, duration="PT2H")), LocalLambdaContext())
    answer = guru.route

    def throttle_removals(req: httpx.Request) -> httpx.Response:
        if req.method == "DELETE":
            return httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "0"})
        return answer(req)

    monkeypatch.setattr(guru, "route", throttle_removals)
    fire(queue, schedules()[0])

    failures = [queue.deliver(handler) for _ in range(6)]

    assert [len(f) for f in failures] == [1, 1, 1, 1, 1, 0]  # five receives, then SQS moved it aside
    assert queue.count(queue.dlq) == 1 and queue.count(queue.url) == 0
    assert guru.is_member(*access)


def test_a_scheduler_failure_after_the_grant_is_retried_without_granting_twice(
    handler: Handler, queue: Queue, guru: GuruSimulator, access: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ScheduledGrantEnds.arrange
    failures = {"left": 1}

    def flaky(self: ScheduledGrantEnds, end: Any) -> str:
        if failures["left"]:
            failures["left"] -= 1
            raise TransientError("AWS failed to schedule the end (ThrottlingException); try again later.")
        return real(self, end)

    monkeypatch.setattr(ScheduledGrantEnds, "arrange", flaky)
    body = grant("tb-1", access, duration="PT2H")

    first = handler(sqs_event(body), LocalLambdaContext())
    assert len(first["batchItemFailures"]) == 1 and schedules() == []
    assert handler(sqs_event(body, receive_count=2), LocalLambdaContext()) == {"batchItemFailures": []}

    assert len([m for m in guru.mutations if m[0] == "POST"]) == 1
    (schedule,) = schedules()
    assert schedule["ScheduleExpression"] == f"at({outcome('tb-1')['expires_at'][:-1]})"
    assert outcome("tb-1")["attempts"] == 1  # the saved outcome of the first delivery, reported again


def test_a_gusto_admin_grant_with_an_end_is_rejected_and_schedules_nothing(
    handler: Handler, queue: Queue, gusto: Any
) -> None:
    body = request(
        "admin-for-a-day",
        "gusto",
        "grant",
        entitlement_id=f"company:{gusto.company_uuid}:admin",
        principal={"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
        duration="P1D",
    )
    handler(sqs_event(body), LocalLambdaContext())
    rejected = outcome("admin-for-a-day")
    assert rejected["status"] == "rejected" and "Gusto has no API to remove a company admin" in rejected["message"]
    assert rejected["raw_body"] == body and schedules() == []
    assert not [m for m in gusto.mutations if m[0] != "GET"]
