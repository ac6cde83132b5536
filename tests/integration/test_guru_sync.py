"""GuruSyncFunction end to end: the real handler, moto for AWS, the Guru simulator on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from access_sync.errors import CredentialsError, UpstreamError
from access_sync.stores.lease import DynamoLease, sync_lease_key
from access_sync.stores.s3 import S3BlobStore
from access_sync_sim.base import Faults
from access_sync_sim.guru import GuruSimulator
from tests.helpers import LocalLambdaContext, load_event, load_handler_module
from tests.integration.conftest import BUCKET, latest_snapshot, snapshot_content, store_secret

Handler = Callable[[dict[str, Any], LocalLambdaContext], dict[str, Any]]


@pytest.fixture
def guru() -> GuruSimulator:
    return GuruSimulator(members=230, groups=9)


@pytest.fixture
def handler(
    bucket: str, table: str, guru: GuruSimulator, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Handler]:
    secret = store_secret("access-sync/guru", {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN})
    with guru.serve() as root:
        monkeypatch.setenv("SNAPSHOT_BUCKET", bucket)
        monkeypatch.setenv("IDEMPOTENCY_TABLE", table)
        monkeypatch.setenv("GURU_SECRET_ID", secret)
        monkeypatch.setenv("GURU_BASE_URL", f"{root}/api/v1")
        yield load_handler_module("guru_sync").handler


def test_a_scheduled_sync_writes_a_complete_snapshot(handler: Handler, guru: GuruSimulator) -> None:
    result = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())

    assert result["status"] == "complete" and result["connector"] == "guru"
    snapshot = latest_snapshot("guru")
    manifest = snapshot.manifest
    expected = guru.expected_counts()
    assert manifest.counts.resources == {"user": expected["users"], "group": expected["groups"]}
    assert manifest.counts.grants == expected["memberships"]
    assert manifest.counts.entitlements == expected["groups"]
    assert manifest.source.requests == guru.requests == result["requests"]
    assert manifest.files["resources/part-00000.jsonl.gz"].records == expected["users"] + expected["groups"]
    disabled = [r for r in snapshot.records("resources") if r["status"] == "disabled"]
    assert len(disabled) == expected["pending_users"]


def test_every_grant_resolves_to_records_of_the_same_snapshot(handler: Handler) -> None:
    handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    snapshot = latest_snapshot("guru")
    resources = {(r["resource_type"], r["id"]) for r in snapshot.records("resources")}
    entitlements = {e["id"] for e in snapshot.records("entitlements")}
    for grant in snapshot.records("grants"):
        assert grant["entitlement"] in entitlements
        assert (grant["principal"]["resource_type"], grant["principal"]["id"]) in resources
        assert grant["id"] == f"{grant['entitlement']}:user:{grant['principal']['id']}"


def test_latest_json_points_at_the_completed_folder(handler: Handler) -> None:
    result = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    pointer = json.loads(
        boto3.client("s3").get_object(Bucket=BUCKET, Key="snapshots/connector=guru/latest.json")["Body"].read()
    )
    assert pointer["sync_id"] == result["sync_id"] and pointer["path"] == result["snapshot"]
    assert pointer["path"].startswith(f"snapshots/connector=guru/sync_date={result['sync_id'][:4]}-")


def test_a_failure_mid_sync_leaves_no_manifest_and_latest_unchanged(
    handler: Handler, guru: GuruSimulator, s3_keys: Callable[[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    answer = guru.route

    def break_after_a_few(request: Any) -> Any:
        if guru.requests > first["requests"] + 4:  # members and some groups are written by then
            import httpx

            return httpx.Response(400, json={"message": "Invalid/Incomplete Request"})
        return answer(request)

    monkeypatch.setattr(guru, "route", break_after_a_few)
    with pytest.raises(UpstreamError, match="Guru answered 400"):
        handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())

    manifests = [key for key in s3_keys("snapshots/") if key.endswith("manifest.json")]
    assert manifests == [f"{first['snapshot']}/manifest.json"]
    assert latest_snapshot("guru").manifest.sync_id == first["sync_id"]


def test_429s_5xx_and_dropped_connections_are_retried_and_the_data_is_right(
    handler: Handler, guru: GuruSimulator
) -> None:
    clean = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    clean_content = snapshot_content(latest_snapshot("guru"))
    guru.faults = Faults(script=[429, 503, "drop", 502, 429, 500], retry_after=0)

    stormy = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())

    assert stormy["status"] == "complete" and stormy["sync_id"] != clean["sync_id"]
    assert snapshot_content(latest_snapshot("guru")) == clean_content


def test_wrong_credentials_fail_with_one_sentence_and_a_metric(
    handler: Handler, guru: GuruSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="access-sync/guru",
        SecretString=json.dumps({"user_email": guru.ADMIN_EMAIL, "api_token": "not-the-token-xyz"}),
    )
    with pytest.raises(CredentialsError) as caught:
        handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    assert "\n" not in caught.value.message and "HTTP 401" in caught.value.message
    output = capsys.readouterr().out
    assert '"SyncFailed"' in output and "not-the-token-xyz" not in output


def test_an_unfilled_secret_says_how_to_fill_it(handler: Handler) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="access-sync/guru", SecretString=json.dumps({"user_email": "", "api_token": ""})
    )
    with pytest.raises(Exception, match=r"incomplete or malformed \(check: api_token, user_email\)"):
        handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())


def test_no_secret_reaches_logs_or_snapshot(
    handler: Handler, guru: GuruSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    snapshot = latest_snapshot("guru")
    everything = json.dumps(snapshot_content(snapshot)) + capsys.readouterr().out
    assert guru.ADMIN_TOKEN not in everything


@pytest.mark.parametrize("pages_before_timeout", [1, 3, 8])
def test_a_sync_interrupted_by_the_lambda_deadline_resumes_to_the_same_snapshot(
    handler: Handler, guru: GuruSimulator, pages_before_timeout: int
) -> None:
    uninterrupted = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    expected = snapshot_content(latest_snapshot("guru"))
    requests_before = guru.requests

    def running_out() -> LocalLambdaContext:
        # Plenty of time for a few pages, then under the 60 s safety margin.
        return LocalLambdaContext(remaining_millis=[900_000] * pages_before_timeout + [30_000])

    result = handler(load_event("guru_sync_schedule.json"), running_out())
    invocations = 1
    while result["status"] == "in_progress":
        assert invocations < 200, "the sync never finished"
        result = handler(result, running_out())
        invocations += 1

    assert invocations > 1 and result["invocations"] == invocations and result["resumed_from_checkpoint"]
    assert snapshot_content(latest_snapshot("guru")) == expected
    # Resuming redoes nothing: the same requests as one uninterrupted run.
    assert guru.requests - requests_before == uninterrupted["requests"] == result["requests"]


def test_a_failure_outside_the_projects_own_errors_still_counts_as_a_failed_sync(
    handler: Handler,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_put(self: S3BlobStore, key: str, data: bytes, content_type: str = "application/json") -> None:
        raise RuntimeError("a library failed in a way nobody foresaw")

    monkeypatch.setattr(S3BlobStore, "put_bytes", broken_put)
    with pytest.raises(RuntimeError):
        handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    assert '"SyncFailed"' in capsys.readouterr().out  # the metric the SyncFailed alarm watches
    failed = [record for record in caplog.records if record.message == "sync failed"]
    assert len(failed) == 1 and failed[0].__dict__["error"] == "RuntimeError"


# ---------------------------------------------------------------------- one sync per connector (the sync lease)


def test_a_run_while_another_guru_sync_holds_the_lease_is_skipped_and_writes_nothing(
    handler: Handler, table: str, guru: GuruSimulator, s3_keys: Callable[[str], list[str]]
) -> None:
    with DynamoLease(table, sync_lease_key("guru")).take("another-sync") as held:
        assert held is not None
        result = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())

    assert result["status"] == "skipped" and result["connector"] == "guru"
    assert "another guru sync holds the sync lease sync#guru" in result["reason"]
    assert guru.requests == 0 and s3_keys("snapshots/") == []


def test_a_checkpointed_sync_keeps_the_lease_between_invocations_and_a_second_run_is_skipped(
    handler: Handler, guru: GuruSimulator
) -> None:
    running_out = LocalLambdaContext(remaining_millis=[900_000, 30_000])
    first = handler(load_event("guru_sync_schedule.json"), running_out)
    assert first["status"] == "in_progress"

    second = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())  # the next schedule, too early
    assert second["status"] == "skipped"

    result = first
    while result["status"] == "in_progress":
        result = handler(result, LocalLambdaContext())
    assert result["status"] == "complete" and result["sync_id"] == first["sync_id"]
    # Released once complete: the next scheduled run does its own sync.
    assert handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())["status"] == "complete"
