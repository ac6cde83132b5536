"""Soak: thousands of mixed provisioning requests through the real ProvisioningFunction handler, with faults.

Both simulators serve on loopback ports and moto stands in for AWS. A small SQS model delivers batches of
ten, redelivers what a batch reports as failed (and everything of a batch whose function died) once the
visibility timeout has passed, moves a message to the DLQ after five receives, and now and then delivers a
message twice. Around the changes, faults are injected at random: EventBridge publishes and S3 outcome
writes fail, and the function is killed right after a change reached Guru or Gusto.

It prints lost requests, duplicated changes, outcome files per request and the DLQ count, and exits 1
unless they are 0, 0, exactly 1, and as planned (the requests meant to fail every time).

    .venv/bin/python -m benchmarks.soak [--requests 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx

from access_sync.connectors.guru.client import GuruClient
from access_sync.connectors.gusto import connector as gusto_connector
from access_sync.connectors.gusto.client import GustoClient
from access_sync.errors import TransientError
from access_sync.observability import logger
from access_sync.stores.eventbridge import EventBridgePublisher
from access_sync.stores.s3 import S3BlobStore
from access_sync.wiring import provisioning_lambda
from access_sync_dev.local_lambda import LocalLambdaContext, load_handler_module
from access_sync_sim.base import DropConnection
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator

BUCKET, TABLE = "soak-snapshots", "soak-idempotency"
MAX_RECEIVES = 5  # the stack's redrive policy
# The function's in-progress records expire with its remaining time; SQS redelivers only after the visibility
# timeout, which is longer (in the stack: 120 s and 720 s; here scaled down to keep the run short).
REMAINING_MS = 1000
VISIBILITY_SECONDS = 1.2


class Killed(BaseException):
    """The function dying right after a change (timeout, SIGKILL): nothing in the process cleans up."""


@dataclass
class Message:
    body: str
    receives: int = 0
    visible_at: float = 0.0
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Plan:
    bodies: list[str]
    outcome_files: dict[str, str]  # body → the outcome file it must end in
    doomed: set[str]  # bodies meant to fail on every delivery (they must end in the DLQ)
    emails: list[str]  # Gusto accounts and admins the plan creates, each exactly once


def _request(request_id: str, connector: str, action: str, **fields: Any) -> str:
    return json.dumps({"request_id": request_id, "connector": connector, "action": action, **fields})


def build_plan(count: int, rng: random.Random, guru: GuruSimulator, gusto: GustoSimulator, poisoned: str) -> Plan:
    bodies: list[str] = []
    files: dict[str, str] = {}
    doomed: set[str] = set()
    emails: list[str] = []
    groups = [gid for gid in guru.group_ids() if gid not in (guru.all_members_group_id, poisoned)]
    for index in range(count):
        roll = rng.random()
        rid = f"soak-{index}"
        member = guru.member_email(rng.randrange(guru.team.members))
        group = rng.choice(groups)
        if roll < 0.35:
            email = f"hire-{index}@soak.example"
            emails.append(email)
            account = {"first_name": "Soak", "last_name": f"Hire{index}", "email": email, "self_onboarding": True}
            body = _request(rid, "gusto", "create_account", account=account)
        elif roll < 0.45:
            email = f"admin-{index}@soak.example"
            emails.append(email)
            person = {"email": email, "first_name": "Soak", "last_name": f"Admin{index}"}
            body = _request(
                rid, "gusto", "grant", entitlement_id=f"company:{gusto.company_uuid}:admin", principal=person
            )
        elif roll < 0.70:
            principal = {"resource_type": "user", "id": member}
            body = _request(rid, "guru", "grant", entitlement_id=f"group:{group}:member", principal=principal)
        elif roll < 0.90:
            body = _request(rid, "guru", "revoke", grant_id=f"group:{group}:member:user:{member}")
        elif roll < 0.96:
            body = rng.choice(["{not json", json.dumps({"request_id": rid, "connector": "gusto", "action": "grnat"})])
        else:
            principal = {"resource_type": "user", "id": member}
            body = _request(rid, "guru", "grant", entitlement_id=f"group:{poisoned}:member", principal=principal)
            doomed.add(body)
        if body in files:
            continue  # an identical malformed body: one outcome for both
        bodies.append(body)
        files[body] = expected_file(body)
    return Plan(bodies, files, doomed, emails)


def expected_file(body: str) -> str:
    """`<request_id>.json` for a body with a usable request_id (a rejection too), else `rejected-<hash>.json`."""
    try:
        return f"{json.loads(body)['request_id']}.json"
    except ValueError:
        return f"rejected-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"


def _failing(rng: random.Random, rate: float, injected: Counter[str], name: str, applies: Any = None) -> Any:
    """A wrapper for an adapter method that raises a TransientError at `rate` (where `applies(args)` holds)."""

    def wrap(real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if (applies is None or applies(args)) and rng.random() < rate:
                injected[name] += 1
                raise TransientError(f"{name} failed (injected); try again later.")
            return real(*args, **kwargs)

        return call

    return wrap


def _dying(rng: random.Random, rate: float, injected: Counter[str]) -> Any:
    """A wrapper for a change that, at `rate`, kills the function right after the change was made."""

    def wrap(real: Any) -> Any:
        def change(*args: Any, **kwargs: Any) -> Any:
            answer = real(*args, **kwargs)
            if rng.random() < rate:
                injected["kill"] += 1
                raise Killed()
            return answer

        return change

    return wrap


@contextmanager
def faults(rng: random.Random, fault_rate: float, kill_rate: float) -> Iterator[Counter[str]]:
    """Patches the adapters to fail at random; yields the count of each fault injected."""
    injected: Counter[str] = Counter()
    is_outcome = lambda args: str(args[1]).startswith("provisioning/results/")  # noqa: E731
    patches = [
        (EventBridgePublisher, "publish", _failing(rng, fault_rate, injected, "EventBridge")),
        (S3BlobStore, "put_bytes", _failing(rng, fault_rate, injected, "S3 outcome write", is_outcome)),
        (GustoClient, "create_employee", _dying(rng, kill_rate, injected)),
        (GustoClient, "create_admin", _dying(rng, kill_rate, injected)),
        (GuruClient, "add_group_member", _dying(rng, kill_rate, injected)),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, wrap in patches:
        setattr(owner, name, wrap(getattr(owner, name)))
    try:
        yield injected
    finally:
        for owner, name, real in originals:
            setattr(owner, name, real)


@dataclass
class QueueTally:
    deliveries: int = 0
    batches: int = 0
    killed_batches: int = 0
    duplicates_sent: int = 0
    dlq: list[str] = field(default_factory=list)


def drain(handler: Any, plan: Plan, rng: random.Random, duplicate_rate: float) -> QueueTally:
    """Delivers every message until the queue is empty, as SQS and the event source mapping would."""
    queue = [Message(body) for body in plan.bodies]
    tally = QueueTally()
    while queue:
        now = time.monotonic()
        visible = [m for m in queue if m.visible_at <= now][:10]
        if not visible:
            time.sleep(min(m.visible_at for m in queue) - now)
            continue
        for message in visible:
            message.receives += 1
        tally.batches += 1
        tally.deliveries += len(visible)
        event = {"Records": [_record(m) for m in visible]}
        context = LocalLambdaContext(remaining_millis=[REMAINING_MS])
        try:
            with redirect_stdout(io.StringIO()):  # the handler's EMF metrics, one document per batch
                failed = {f["itemIdentifier"] for f in handler(event, context)["batchItemFailures"]}
        except Killed:
            tally.killed_batches += 1
            failed = {m.message_id for m in visible}
        for message in visible:
            if message.message_id not in failed:
                queue.remove(message)
                if rng.random() < duplicate_rate:  # at-least-once: SQS may deliver it again
                    tally.duplicates_sent += 1
                    queue.append(Message(message.body, visible_at=time.monotonic()))
            elif message.receives >= MAX_RECEIVES:
                queue.remove(message)
                tally.dlq.append(message.body)
            else:
                message.visible_at = time.monotonic() + VISIBILITY_SECONDS
    return tally


def _record(message: Message) -> dict[str, Any]:
    return {
        "messageId": message.message_id,
        "receiptHandle": message.message_id,
        "body": message.body,
        "attributes": {"ApproximateReceiveCount": str(message.receives), "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(message.body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:soak",
        "awsRegion": "us-east-1",
    }


def outcome_files() -> Counter[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="provisioning/results/")
    return Counter(item["Key"].rsplit("/", 1)[1] for page in pages for item in page.get("Contents", []))


def created_per_email(gusto: GustoSimulator) -> Counter[str]:
    overlay = gusto.overlay
    people = [overlay.render_employee(key) for key in overlay.employee_keys()] + overlay.admins()
    return Counter(str(person.get("email")) for person in people)


def _stack(stack: ExitStack, guru: GuruSimulator, gusto: GustoSimulator) -> None:
    from moto import mock_aws

    os.environ.update(AWS_ACCESS_KEY_ID="soak", AWS_SECRET_ACCESS_KEY="soak", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    stack.enter_context(mock_aws())
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secrets = boto3.client("secretsmanager")
    guru_secret = {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN}
    secrets.create_secret(Name="soak/guru", SecretString=json.dumps(guru_secret))
    secrets.create_secret(Name="soak/gusto", SecretString=json.dumps(gusto.issue_credentials()))
    guru_url = stack.enter_context(guru.serve())
    gusto_url = stack.enter_context(gusto.serve())
    os.environ.update(
        SNAPSHOT_BUCKET=BUCKET,
        IDEMPOTENCY_TABLE=TABLE,
        GURU_SECRET_ID="soak/guru",
        GUSTO_SECRET_ID="soak/gusto",
        GURU_BASE_URL=f"{guru_url}/api/v1",
        GUSTO_BASE_URL=gusto_url,
        POWERTOOLS_METRICS_DISABLED="true",
    )
    logger.setLevel("CRITICAL")  # thousands of retries would bury the summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.03, help="EventBridge and S3 failures (each)")
    parser.add_argument("--kill-rate", type=float, default=0.01, help="the function dying after a change")
    parser.add_argument("--duplicate-rate", type=float, default=0.05, help="SQS delivering a message again")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="No application metrics to publish")  # a killed batch has none
    rng = random.Random(args.seed)
    guru = GuruSimulator(members=200, groups=12)
    # The soak measures correctness, not pacing: Gusto's per-minute limit is lifted on both sides.
    gusto = GustoSimulator(employees=50, contractors=5, admins=3, rate_limit_per_minute=1_000_000)
    gusto_connector.REQUESTS_PER_MINUTE = 1_000_000
    poisoned = guru.group_ids()[-1]
    answer = guru.route

    def poisoned_group(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and poisoned in request.url.path:
            raise DropConnection()  # the reply is lost every time: the request can never be confirmed
        return answer(request)

    guru.route = poisoned_group  # type: ignore[method-assign]
    started = time.monotonic()
    with ExitStack() as stack:
        _stack(stack, guru, gusto)
        provisioning_lambda._service.cache_clear()
        handler = load_handler_module("provisioning").handler
        plan = build_plan(args.requests, rng, guru, gusto, poisoned)
        with faults(rng, args.fault_rate, args.kill_rate) as injected:
            tally = drain(handler, plan, rng, args.duplicate_rate)
        files = outcome_files()
        created = created_per_email(gusto)
    elapsed = time.monotonic() - started

    dlq = set(tally.dlq)
    lost = [b for b in plan.bodies if b not in dlq and files[plan.outcome_files[b]] == 0]
    expected_files = {plan.outcome_files[b] for b in plan.bodies if b not in dlq}
    per_request = Counter(files[name] for name in expected_files)
    extra = set(files) - expected_files
    duplicated = sum(n - 1 for email, n in created.items() if email in set(plan.emails) and n > 1)
    missing = [email for email in plan.emails if created[email] == 0]
    print(f"soak: {len(plan.bodies):,} requests in {elapsed:.1f} s", end=" ")
    print(f"({tally.deliveries:,} deliveries in {tally.batches:,} batches, {tally.killed_batches} of them killed)")
    print(
        f"  faults injected: {injected['EventBridge']} EventBridge publishes, {injected['S3 outcome write']} S3 "
        f"outcome writes, {injected['kill']} kills after a change; {tally.duplicates_sent} duplicate deliveries"
    )
    print(f"  lost requests:          {len(lost)}")
    print(f"  duplicated changes:     {duplicated} (Gusto accounts and admins created more than once)")
    print(f"  accounts never created: {len(missing)}")
    print(f"  outcomes per request:   {dict(sorted(per_request.items()))} (files per request → requests)")
    print(f"  unexpected outcome files: {len(extra)}" + (f" ({', '.join(sorted(extra)[:5])})" if extra else ""))
    print(f"  DLQ: {len(dlq)} (planned {len(plan.doomed)})")
    ok = not lost and not duplicated and not missing and set(per_request) == {1} and not extra and dlq == plan.doomed
    print("  result: " + ("every change at most once, every request one outcome" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
