"""Findings on AWS: the real sync handlers (moto, the organisation's simulators) run findings after each sync,
announce them on EventBridge, and send the leaver remediation through the provision queue, behind the breaker."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from access_sync.findings.files import latest_pointer, read_lines
from access_sync.stores.s3 import S3BlobStore
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator
from access_sync_sim.organisation import Organisation
from tests.athena import DATABASE, create_glue_catalog
from tests.helpers import LocalLambdaContext, load_event, load_handler_module, sqs_event
from tests.integration.conftest import functions_environment

Handler = Callable[[dict[str, Any], LocalLambdaContext], dict[str, Any]]


@pytest.fixture
def org() -> Organisation:
    return Organisation(employees=40, contractors=10, admins=5)


@pytest.fixture
def guru(org: Organisation) -> GuruSimulator:
    return GuruSimulator(organisation=org, groups=8)


@pytest.fixture
def queues(aws: None) -> dict[str, str]:
    """The provision queue, and a queue that receives every access-sync event (through a bus rule)."""
    sqs = boto3.client("sqs")
    provision = sqs.create_queue(QueueName="provision")["QueueUrl"]
    events = sqs.create_queue(QueueName="events")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bridge = boto3.client("events")
    bridge.put_rule(Name="everything", EventPattern=json.dumps({"source": ["access-sync"]}))
    bridge.put_targets(Rule="everything", Targets=[{"Id": "queue", "Arn": events_arn}])
    return {"provision": provision, "events": events}


@pytest.fixture
def handlers(
    bucket: str,
    table: str,
    queues: dict[str, str],
    org: Organisation,
    guru: GuruSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Handler]]:
    S3BlobStore(bucket).put_bytes("config/identities.json", json.dumps(org.suggested_identities()).encode())
    gusto = GustoSimulator(organisation=org)
    with functions_environment(bucket, table, guru, gusto, monkeypatch, PROVISION_QUEUE_URL=queues["provision"]):
        yield {name: load_handler_module(name).handler for name in ("guru_sync", "gusto_sync", "provisioning")}


def sync(handlers: dict[str, Handler], connector: str) -> dict[str, Any]:
    result = handlers[f"{connector}_sync"](load_event(f"{connector}_sync_schedule.json"), LocalLambdaContext())
    assert result["status"] == "complete"
    return result


def drain(queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            messages.append(dict(message))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return messages


def events(queues: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    received = [json.loads(message["Body"]) for message in drain(queues["events"])]
    return [(event["detail-type"], event["detail"]) for event in received]


def latest_findings(bucket: str) -> list[dict[str, Any]]:
    store = S3BlobStore(bucket)
    pointer = latest_pointer(store)
    assert pointer is not None
    return list(read_lines(store, pointer.path))


def test_findings_follow_the_second_connectors_sync_and_each_new_one_is_announced(
    handlers: dict[str, Handler], bucket: str, queues: dict[str, str]
) -> None:
    first = sync(handlers, "guru")
    assert first["findings"]["status"] == "skipped" and "there is only Guru's so far" in first["findings"]["reason"]
    second = sync(handlers, "gusto")
    assert second["findings"]["status"] == "complete"
    found = latest_findings(bucket)
    assert second["findings"]["counts"]["open"] == len(found) > 0
    opened = [detail for kind, detail in events(queues) if kind == "Finding Opened"]
    assert sorted(detail["id"] for detail in opened) == sorted(finding["id"] for finding in found)
    assert drain(queues["provision"]) == []  # remediation is off by default

    sync(handlers, "guru")  # nothing changed: no finding is new, none resolved
    assert [kind for kind, _ in events(queues) if kind.startswith("Finding")] == []


def test_remove_account_goes_through_the_queue_changes_guru_once_and_resolves_the_leavers(
    handlers: dict[str, Handler],
    bucket: str,
    queues: dict[str, str],
    guru: GuruSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEAVER_REMEDIATION", "remove_account")
    monkeypatch.setenv("REMEDIATION_MAX_PER_RUN", "20")
    sync(handlers, "guru")
    result = sync(handlers, "gusto")
    leavers = {f["subject"]["id"] for f in latest_findings(bucket) if f["kind"] == "leaver_with_access"}
    assert result["findings"]["remediation"] == {
        "mode": "remove_account",
        "dry_run": False,
        "max": 20,
        "planned": len(leavers),
        "sent": len(leavers),
        "halted": False,
    }
    bodies = [message["Body"] for message in drain(queues["provision"])]
    assert {json.loads(body)["resource"]["id"] for body in bodies} == leavers

    answer = handlers["provisioning"](sqs_event(*bodies), LocalLambdaContext())
    assert answer["batchItemFailures"] == []
    handlers["provisioning"](sqs_event(*bodies, receive_count=2), LocalLambdaContext())  # redelivered
    assert sorted(email for _, _, email in guru.mutations) == sorted(leavers)  # each removed once

    events(queues)
    sync(handlers, "guru")
    resolved = {detail["subject"]["id"] for kind, detail in events(queues) if kind == "Finding Resolved"}
    assert resolved == leavers
    assert drain(queues["provision"]) == []  # nothing left to remediate


def test_the_circuit_breaker_sends_nothing_announces_the_halt_and_counts_it(
    handlers: dict[str, Handler],
    queues: dict[str, str],
    guru: GuruSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LEAVER_REMEDIATION", "revoke_groups")
    monkeypatch.setenv("REMEDIATION_MAX_PER_RUN", "2")
    sync(handlers, "guru")
    capsys.readouterr()
    result = sync(handlers, "gusto")
    remediation = result["findings"]["remediation"]
    assert remediation["halted"] and remediation["sent"] == 0 and remediation["planned"] > 2
    assert drain(queues["provision"]) == [] and guru.mutations == []
    (halted,) = [detail for kind, detail in events(queues) if kind == "Remediation Halted"]
    assert halted["held_back"] == remediation["planned"] and halted["max"] == 2
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(metric.get("RemediationHalted") == [1.0] or metric.get("RemediationHalted") == 1.0 for metric in emitted)


def test_a_dry_run_on_aws_lists_the_requests_and_sends_none(
    handlers: dict[str, Handler], queues: dict[str, str], guru: GuruSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAVER_REMEDIATION", "revoke_groups")
    monkeypatch.setenv("REMEDIATION_MAX_PER_RUN", "100")
    monkeypatch.setenv("REMEDIATION_DRY_RUN", "true")
    sync(handlers, "guru")
    remediation = sync(handlers, "gusto")["findings"]["remediation"]
    assert remediation["dry_run"] and remediation["planned"] > 0 and remediation["sent"] == 0
    assert drain(queues["provision"]) == [] and guru.mutations == []


def test_a_findings_run_registers_its_partition_of_the_findings_table_after_its_manifest(
    handlers: dict[str, Handler], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_glue_catalog(bucket)
    monkeypatch.setenv("GLUE_DATABASE", DATABASE)
    sync(handlers, "guru")
    first = sync(handlers, "gusto")["findings"]
    second = sync(handlers, "guru")["findings"]
    found = boto3.client("glue").get_partitions(DatabaseName=DATABASE, TableName="findings")["Partitions"]
    runs = [(run["run_id"], run["path"]) for run in (first, second)]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in found) == [
        ([f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}", run_id], f"s3://{bucket}/{path}/findings/")
        for run_id, path in runs
    ]
    assert S3BlobStore(bucket).get_bytes(f"{second['path']}/manifest.json")  # registered after it
    serde = found[0]["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert serde == "org.openx.data.jsonserde.JsonSerDe"
