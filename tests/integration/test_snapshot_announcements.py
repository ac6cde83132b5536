"""After its manifest, a sync on AWS registers its Athena partitions and announces itself on EventBridge;
an interrupted sync does neither. moto plays Glue, EventBridge and SQS (the queue receives the events)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from access_sync_sim.guru import GuruSimulator
from tests.athena import DATABASE, create_glue_catalog
from tests.helpers import LocalLambdaContext, load_event, load_handler_module
from tests.integration.conftest import BUCKET, store_secret

Handler = Callable[[dict[str, Any], LocalLambdaContext], dict[str, Any]]
KINDS = ("resources", "entitlements", "grants", "changes")


@pytest.fixture
def guru() -> GuruSimulator:
    return GuruSimulator(members=60, groups=5)


@pytest.fixture
def catalog(aws: None) -> None:
    create_glue_catalog(BUCKET)


@pytest.fixture
def events(aws: None) -> Callable[[], list[dict[str, Any]]]:
    """Every access-sync event put on the default bus, as a queue subscribed to it receives them."""
    sqs, bridge = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="access-sync-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bridge.put_rule(Name="all", EventPattern=json.dumps({"source": ["access-sync"]}))
    bridge.put_targets(Rule="all", Targets=[{"Id": "queue", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        found = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return found

    return received


@pytest.fixture
def handler(
    bucket: str, table: str, catalog: None, guru: GuruSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handler]:
    secret = store_secret("access-sync/guru", {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN})
    with guru.serve() as root:
        for name, value in {
            "SNAPSHOT_BUCKET": bucket,
            "GURU_SECRET_ID": secret,
            "GURU_BASE_URL": f"{root}/api/v1",
            "IDEMPOTENCY_TABLE": table,
            "GLUE_DATABASE": DATABASE,
            "EVENT_BUS_NAME": "default",
        }.items():
            monkeypatch.setenv(name, value)
        yield load_handler_module("guru_sync").handler


def partitions(table: str) -> list[dict[str, Any]]:
    found = boto3.client("glue").get_partitions(DatabaseName=DATABASE, TableName=table)["Partitions"]
    return sorted(found, key=lambda p: p["Values"])


def join_a_group(guru: GuruSimulator) -> tuple[str, str]:
    """Puts one member into a group they were not in; returns (group id, member email)."""
    gid, email = next(
        (gid, guru.member_email(i))
        for gid in guru.group_ids()[1:]
        for i in range(2, 60)
        if not guru.is_member(gid, guru.member_email(i))
    )
    guru.memberships.add(guru.team.group_index[gid], [guru.member_index(email) or 0])
    return gid, email


def test_two_syncs_register_their_partitions_and_announce_exactly_the_change_between_them(
    handler: Handler, guru: GuruSimulator, events: Callable[[], list[dict[str, Any]]]
) -> None:
    first = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    gid, email = join_a_group(guru)
    second = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())

    for kind in KINDS:
        registered = partitions(kind)
        assert [p["Values"] for p in registered] == [
            ["guru", f"{r['sync_id'][:4]}-{r['sync_id'][4:6]}-{r['sync_id'][6:8]}", r["sync_id"]]
            for r in (first, second)
        ]
        assert [p["StorageDescriptor"]["Location"] for p in registered] == [
            f"s3://{BUCKET}/{r['snapshot']}/{kind}/" for r in (first, second)
        ]
        serde = registered[0]["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
        assert serde == "org.openx.data.jsonserde.JsonSerDe"

    received = events()
    completed = [e for e in received if e["detail-type"] == "Snapshot Completed"]
    assert [e["detail"]["sync_id"] for e in completed] == [first["sync_id"], second["sync_id"]]
    # The new membership, and the group whose member count went up with it.
    assert completed[1]["detail"]["changes"] == {
        "baseline_sync_id": first["sync_id"],
        "added": 1,
        "removed": 0,
        "modified": 1,
    }
    assert completed[1]["detail"]["path"] == second["snapshot"]
    changed = [e for e in received if e["detail-type"] == "Access Changed"]
    assert {e["source"] for e in changed} == {"access-sync"}
    grant_id = f"group:{gid}:member:user:{email}"
    about = ("connector", "sync_id", "kind", "change", "id", "fields")
    assert [{k: e["detail"][k] for k in about} for e in changed] == [
        {
            "connector": "guru",
            "sync_id": second["sync_id"],
            "kind": "resource",
            "change": "modified",
            "id": f"group:{gid}",
            "fields": ["profile.number_of_members"],
        },
        {
            "connector": "guru",
            "sync_id": second["sync_id"],
            "kind": "grant",
            "change": "added",
            "id": grant_id,
            "fields": [],
        },
    ]
    assert changed[1]["detail"]["after"]["id"] == grant_id and changed[1]["detail"]["before"] is None


def test_an_interrupted_sync_registers_no_partition_and_announces_nothing(
    handler: Handler, events: Callable[[], list[dict[str, Any]]]
) -> None:
    result = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext(remaining_millis=[900_000, 30_000]))
    assert result["status"] == "in_progress"
    assert all(partitions(kind) == [] for kind in KINDS)
    assert events() == []

    done = handler(result, LocalLambdaContext())
    assert done["status"] == "complete" and len(partitions("grants")) == 1


def test_access_changed_events_stop_at_the_cap_and_one_more_says_how_many_were_left_out(
    handler: Handler, guru: GuruSimulator, events: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANGE_EVENTS_MAX", "2")
    handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())
    for _ in range(5):
        join_a_group(guru)
    second = handler(load_event("guru_sync_schedule.json"), LocalLambdaContext())

    changed = [e["detail"] for e in events() if e["detail-type"] == "Access Changed"]
    total = len(changed) - 1 + changed[-1]["left_out"]
    assert total >= 5 and len(changed) == 3  # 5 memberships, and the groups they joined
    assert all("change" in d for d in changed[:2])
    assert changed[-1] == {
        "connector": "guru",
        "sync_id": second["sync_id"],
        "left_out": total - 2,
        "changes": total,
        "path": second["snapshot"],
    }
