"""Integration fixtures: the real handlers with moto for AWS and the simulators on loopback ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.s3 import S3BlobStore

BUCKET = "access-sync-test-snapshots"
TABLE = "access-sync-test-idempotency"


@pytest.fixture
def bucket(aws: None) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def table(aws: None) -> str:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
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
