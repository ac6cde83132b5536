"""ProvisioningFunction end to end: SQS batches through the real handler, moto for AWS, both simulators."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator
from tests.helpers import EVENTS, LocalLambdaContext, load_event, sqs_event
from tests.integration.conftest import BUCKET, Handler, outcome, request

EXPECTED = {
    "provision_grant.json": {
        "sample-grant-gusto-admin": "succeeded",
        "sample-grant-guru-group": "succeeded",
        "sample-grant-guru-group-for-a-shift": "succeeded",  # time-bound: PT8H
    },
    "provision_revoke.json": {
        "sample-revoke-gusto-admin": "unsupported",
        "sample-revoke-guru-group": "succeeded",
        "expire:477ea8f1ab547158090827d115816306": "succeeded",  # what a time-bound grant's schedule sends
    },
    "provision_create_account.json": {"sample-create-employee": "succeeded", "sample-invite-guru-member": "succeeded"},
    "provision_delete_resource.json": {
        "sample-delete-onboarding-employee": "succeeded",
        "sample-delete-onboarded-employee": "failed",
        "sample-remove-guru-member": "succeeded",
    },
}


def test_every_sample_event_is_covered_here() -> None:
    assert {path.name for path in EVENTS.glob("provision_*.json")} == set(EXPECTED)


@pytest.mark.parametrize("event_file", sorted(EXPECTED))
def test_the_handler_carries_out_each_sample_event(handler: Handler, event_file: str) -> None:
    response = handler(load_event(event_file), LocalLambdaContext())
    assert response == {"batchItemFailures": []}
    for request_id, status in EXPECTED[event_file].items():
        result = outcome(request_id)
        assert result["status"] == status, result["message"]
        assert result["message"] and result["attempts"] == 1 and result["completed_at"]


def test_only_the_transient_failure_is_reported_for_redelivery(
    handler: Handler, guru: GuruSimulator, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttled_group = guru.group_ids()[2]
    answer = guru.route

    def throttle_one_group(req: httpx.Request) -> httpx.Response:
        if req.method == "POST" and throttled_group in req.url.path:
            return httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "0"})
        return answer(req)

    monkeypatch.setattr(guru, "route", throttle_one_group)
    event = sqs_event(
        request(
            "ok",
            "guru",
            "grant",
            entitlement_id=f"group:{guru.group_ids()[1]}:member",
            principal={"resource_type": "user", "id": guru.member_email(3)},
        ),
        request("permanent", "gusto", "revoke", grant_id=f"company:{gusto.company_uuid}:admin:employee:e"),
        request(
            "transient",
            "guru",
            "grant",
            entitlement_id=f"group:{throttled_group}:member",
            principal={"resource_type": "user", "id": guru.member_email(4)},
        ),
        "{this is not json",
    )
    response = handler(event, LocalLambdaContext())

    transient_id = event["Records"][2]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": transient_id}]}
    assert outcome("ok")["status"] == "succeeded"
    assert outcome("permanent")["status"] == "unsupported"
    keys = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="provisioning/results/")["Contents"]
    rejected = [item["Key"] for item in keys if "/rejected-" in item["Key"]]
    assert len(rejected) == 1 and outcome(rejected[0].rsplit("/", 1)[1][:-5])["raw_body"] == "{this is not json"
    assert "transient.json" not in {item["Key"].rsplit("/", 1)[1] for item in keys}

    # Redelivered once the throttling has passed, it completes.
    monkeypatch.setattr(guru, "route", answer)
    retry = {"Records": [dict(event["Records"][2], attributes={"ApproximateReceiveCount": "2"})]}
    assert handler(retry, LocalLambdaContext()) == {"batchItemFailures": []}
    assert outcome("transient")["status"] == "succeeded" and outcome("transient")["attempts"] == 2


def test_a_request_id_repeated_in_a_batch_and_across_batches_changes_gusto_once(
    handler: Handler, gusto: GustoSimulator
) -> None:
    body = request("hire-ada", "gusto", "create_account", account={"first_name": "Ada", "last_name": "Lovelace"})
    first = handler(sqs_event(body, body), LocalLambdaContext())
    second = handler(sqs_event(body, receive_count=2), LocalLambdaContext())

    assert first == second == {"batchItemFailures": []}
    posts = [m for m in gusto.mutations if m[0] == "POST" and m[1].endswith("/employees")]
    assert len(posts) == 1
    assert outcome("hire-ada")["attempts"] == 1


def test_outcomes_are_published_on_eventbridge(handler: Handler) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="outcomes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name="outcomes", EventPattern=json.dumps({"source": ["access-sync"]}))
    events.put_targets(Rule="outcomes", Targets=[{"Id": "q", "Arn": queue_arn}])

    handler(load_event("provision_create_account.json"), LocalLambdaContext())

    # The batch's two items run at once, so their events may arrive in either order.
    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10)["Messages"]
    messages = {message["detail"]["request_id"]: message for message in (json.loads(m["Body"]) for m in received)}
    message = messages["sample-create-employee"]
    assert message["source"] == "access-sync" and message["detail-type"] == "Provisioning Outcome"
    assert message["detail"]["status"] == "succeeded"


def test_an_onboarded_employee_is_never_sent_a_delete(handler: Handler, gusto: GustoSimulator) -> None:
    handler(load_event("provision_delete_resource.json"), LocalLambdaContext())
    deletes = [path for method, path in gusto.request_log if method == "DELETE"]
    assert deletes == ["/v1/employees/2b342e6c-9d17-46a0-a519-965aa56102d5"]
