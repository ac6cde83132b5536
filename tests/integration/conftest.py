"""Integration fixtures: the real handlers with moto for AWS and the simulators on loopback ports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.s3 import S3BlobStore
from access_sync.wiring import provisioning_lambda
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator
from tests.helpers import LocalLambdaContext, create_idempotency_table, load_handler_module
from tests.review_support import Org, simulated_org

BUCKET = "access-sync-test-snapshots"
TABLE = "access-sync-test-idempotency"
EXPIRY_GROUP = "access-sync-test-expiries"
EXPIRY_ROLE = "arn:aws:iam::123456789012:role/access-sync-test-ExpirySchedulerRole"


@pytest.fixture
def bucket(aws: None) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def table(aws: None) -> str:
    create_idempotency_table(boto3.client("dynamodb"), TABLE)
    return TABLE


def store_secret(name: str, value: dict[str, Any]) -> str:
    return str(boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(value))["ARN"])


def latest_snapshot(connector: str) -> SnapshotReader:
    reader = SnapshotReader.latest(S3BlobStore(BUCKET), connector)
    assert reader is not None, f"no latest.json for {connector}"
    return reader


def snapshot_content(reader: SnapshotReader) -> dict[str, list[str]]:
    """Each record file as sorted JSON lines: equal content whatever order the records were written in."""
    return {
        kind: sorted(json.dumps(record, sort_keys=True) for record in reader.records(kind))
        for kind in ("resources", "entitlements", "grants")
    }


@pytest.fixture
def s3_keys(bucket: str) -> Iterator[Any]:
    def keys(prefix: str = "") -> list[str]:
        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    yield keys


# Provisioning: the real ProvisioningFunction handler against both simulators and moto.
Handler = Callable[[dict[str, Any], LocalLambdaContext], dict[str, Any]]


@pytest.fixture
def guru() -> GuruSimulator:
    return GuruSimulator()  # default team: the ids in events/ refer to it


@pytest.fixture
def gusto() -> GustoSimulator:
    return GustoSimulator()


@contextmanager
def functions_environment(
    bucket: str,
    table: str,
    guru: GuruSimulator,
    gusto: GustoSimulator,
    monkeypatch: pytest.MonkeyPatch,
    **extra: str,
) -> Iterator[None]:
    """Both simulators on loopback ports, their credentials in Secrets Manager, and the functions'
    environment pointing at them (plus `extra` variables)."""
    guru_secret = store_secret("access-sync/guru", {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN})
    gusto_secret = store_secret("access-sync/gusto", gusto.issue_credentials())
    boto3.client("scheduler").create_schedule_group(Name=EXPIRY_GROUP)
    provisioning_lambda._service.cache_clear()
    with guru.serve() as guru_root, gusto.serve() as gusto_root:
        for name, value in {
            "SNAPSHOT_BUCKET": bucket,
            "IDEMPOTENCY_TABLE": table,
            "GURU_SECRET_ID": guru_secret,
            "GUSTO_SECRET_ID": gusto_secret,
            "GURU_BASE_URL": f"{guru_root}/api/v1",
            "GUSTO_BASE_URL": gusto_root,
            "EVENT_BUS_NAME": "default",
            "EXPIRY_SCHEDULE_GROUP": EXPIRY_GROUP,
            "EXPIRY_SCHEDULER_ROLE_ARN": EXPIRY_ROLE,
            "PROVISION_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:access-sync-test-provision",
            **extra,
        }.items():
            monkeypatch.setenv(name, value)
        yield
    provisioning_lambda._service.cache_clear()


@pytest.fixture
def handler(
    bucket: str, table: str, guru: GuruSimulator, gusto: GustoSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handler]:
    with functions_environment(bucket, table, guru, gusto, monkeypatch):
        yield load_handler_module("provisioning").handler


def outcome(request_id: str) -> dict[str, Any]:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=f"provisioning/results/{request_id}.json")["Body"]
    loaded: dict[str, Any] = json.loads(body.read())
    return loaded


def request(request_id: str, connector: str, action: str, **fields: Any) -> str:
    return json.dumps({"request_id": request_id, "connector": connector, "action": action, **fields})


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """Simulated Guru and Gusto for a review campaign through the CLI (tests/review_support.py)."""
    yield from simulated_org(tmp_path, monkeypatch)
