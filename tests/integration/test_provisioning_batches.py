"""A batch's items are carried out at once through the real handler (moto, both simulators), and nothing else
about a batch changes: duplicates once, failures reported per item, one Gusto refresh at a time."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator
from tests.helpers import LocalLambdaContext, guru_grant, sqs_event
from tests.integration.conftest import Handler, outcome, request


def ten_guru_grants(guru: GuruSimulator) -> list[str]:
    return [json.dumps(guru_grant(f"grant-{n}", access)) for n, access in enumerate(guru.outsiders(10))]


def membership_posts(simulator: GuruSimulator) -> int:
    return sum(1 for method, path in simulator.request_log if method == "POST" and path.endswith("/members"))


def test_a_batch_of_ten_requests_is_carried_out_at_once(handler: Handler, guru: GuruSimulator) -> None:
    guru.latency = 0.05
    response = handler(sqs_event(*ten_guru_grants(guru)), LocalLambdaContext())

    assert response == {"batchItemFailures": []}
    assert all(outcome(f"grant-{n}")["status"] == "succeeded" for n in range(10))
    assert guru.peak_in_flight > 1


def test_a_request_delivered_twice_in_one_batch_is_carried_out_once_and_both_deliveries_succeed(
    handler: Handler, guru: GuruSimulator
) -> None:
    guru.latency = 0.02
    bodies = ten_guru_grants(guru)
    event = sqs_event(*bodies[:4], bodies[3], *bodies[4:])

    response = handler(event, LocalLambdaContext())

    assert response == {"batchItemFailures": []}
    assert membership_posts(guru) == 10  # eleven deliveries of ten requests
    assert outcome("grant-3")["status"] == "succeeded" and outcome("grant-3")["attempts"] == 1


def test_a_failing_item_is_reported_while_the_others_in_its_batch_succeed(
    handler: Handler, guru: GuruSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = ten_guru_grants(guru)
    throttled = json.loads(bodies[5])["principal"]["id"].encode()
    answer = guru.route

    def throttle_one_grant(req: httpx.Request) -> httpx.Response:
        if req.method == "POST" and throttled in req.content:
            return httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "0"})
        return answer(req)

    monkeypatch.setattr(guru, "route", throttle_one_grant)
    event = sqs_event(*bodies)

    response = handler(event, LocalLambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][5]["messageId"]}]}
    assert all(outcome(f"grant-{n}")["status"] == "succeeded" for n in range(10) if n != 5)


def test_two_gusto_requests_in_one_batch_needing_a_refresh_refresh_once(
    handler: Handler, gusto: GustoSimulator
) -> None:
    secrets = boto3.client("secretsmanager")
    stored = json.loads(secrets.get_secret_value(SecretId="access-sync/gusto")["SecretString"])
    expired = {**stored, "access_token_expires_at": "2020-01-01T00:00:00Z"}
    secrets.put_secret_value(SecretId="access-sync/gusto", SecretString=json.dumps(expired))
    gusto.latency = 0.05
    hires = [
        request(f"hire-{name}", "gusto", "create_account", account={"first_name": name, "last_name": "Lovelace"})
        for name in ("Ada", "Byron")
    ]

    response = handler(sqs_event(*hires), LocalLambdaContext())

    assert response == {"batchItemFailures": []}
    assert outcome("hire-Ada")["status"] == outcome("hire-Byron")["status"] == "succeeded"
    assert gusto.oauth.refresh_count == 1
