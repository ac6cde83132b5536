"""Shared test helpers: event files and snapshot readers (the Lambda context comes from the development tools)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from access_sync_dev.local_lambda import REPO_ROOT, LocalLambdaContext, load_handler_module
from access_sync_sim.guru import GuruSimulator

EVENTS = REPO_ROOT / "events"

__all__ = [
    "EVENTS",
    "LocalLambdaContext",
    "create_idempotency_table",
    "guru_grant",
    "guru_outsider",
    "load_event",
    "load_handler_module",
    "read_jsonl_gz",
    "read_snapshot",
    "sqs_event",
]


def guru_outsider(guru: GuruSimulator, members: int = 40) -> tuple[str, str]:
    """A Guru group (not All Members) and a member of the first `members` who is not in it."""
    return guru.outsiders(1, members)[0]


def guru_grant(request_id: str, access: tuple[str, str], **end: str) -> dict[str, Any]:
    """A grant of group membership `access` (group id, member email), with an end when given."""
    gid, email = access
    return {
        "request_id": request_id,
        "connector": "guru",
        "action": "grant",
        "entitlement_id": f"group:{gid}:member",
        "principal": {"resource_type": "user", "id": email},
        **end,
    }


def create_idempotency_table(client: Any, name: str) -> None:
    """The stack's IdempotencyTable (idempotency records, leases, the rate budget), as template.yaml defines it."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def load_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def read_jsonl_gz(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(data).splitlines() if line]


def read_snapshot(root: Path, connector: str) -> dict[str, Any]:
    """The latest complete snapshot under a local DEST: manifest plus every kind's parts, parsed, in order."""
    latest = json.loads((root / f"snapshots/connector={connector}/latest.json").read_text())
    folder = root / latest["path"]
    snapshot: dict[str, Any] = {"latest": latest, "manifest": json.loads((folder / "manifest.json").read_text())}
    for kind in ("resources", "entitlements", "grants", "changes"):
        parts = sorted((folder / kind).glob("part-*.jsonl.gz"))
        snapshot[kind] = [record for part in parts for record in read_jsonl_gz(part.read_bytes())]
    return snapshot


def sqs_event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    """An SQS batch as Lambda delivers it (the shape of `sam local generate-event sqs receive-message`)."""
    import hashlib
    import uuid

    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": "1795348800000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795348800010",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:access-sync-ProvisionQueue",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }
