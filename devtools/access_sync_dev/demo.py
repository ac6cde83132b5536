"""`access-sync demo`: the whole pipeline on one machine, then a summary a person wants to read.

Simulated Guru and Gusto on loopback ports, a moto server as AWS, the real Lambda handlers invoked with
the files in events/ (looping on `in_progress` as the Step Functions state machine does), and the S3
results copied into a local folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from access_sync.cli.output import counted, require_output
from access_sync.models import ids
from access_sync.observability import logger
from access_sync.snapshot.diff import SnapshotDiff, diff_snapshots
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.s3 import S3BlobStore, s3_client
from access_sync_dev.local_aws import LocalStack, local_aws
from access_sync_dev.local_lambda import REPO_ROOT, LocalLambdaContext, load_handler_module
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator

GURU_MEMBERS, GURU_GROUPS = 300, 12
GUSTO_EMPLOYEES, GUSTO_CONTRACTORS, GUSTO_ADMINS = 40, 10, 5


@contextlib.contextmanager
def lambda_output(log: TextIO) -> Iterator[None]:
    """Sends what the handlers print (JSON logs, EMF metrics) to the log file instead of the terminal."""
    handler = logger.registered_handler
    previous_stream = getattr(handler, "stream", sys.stdout)
    previous_metrics = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    logger.setLevel("INFO")
    if hasattr(handler, "setStream"):
        handler.setStream(log)
    try:
        with contextlib.redirect_stdout(log):
            yield
    finally:
        if hasattr(handler, "setStream"):
            handler.setStream(previous_stream)
        logger.setLevel("WARNING")
        if previous_metrics is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = previous_metrics


def invoke_sync(function: str, event_file: str, log: TextIO) -> dict[str, Any]:
    """Invokes a sync handler the way the state machine does: again and again while it says in_progress."""
    handler = load_handler_module(function).handler
    event: dict[str, Any] = json.loads((REPO_ROOT / "events" / event_file).read_text())
    with lambda_output(log):
        result: dict[str, Any] = handler(event, LocalLambdaContext(function_name=function))
        while result.get("status") == "in_progress":
            result = handler(result, LocalLambdaContext(function_name=function))
    return result


def guru_summary(reader: SnapshotReader) -> list[str]:
    users = disabled = 0
    groups: dict[str, str] = {}
    for record in reader.records("resources"):
        if record["resource_type"] == "user":
            users += 1
            disabled += record["status"] == "disabled"
        else:
            groups[ids.entitlement_id("group", record["id"], "member")] = record["display_name"]
    sizes = Counter(grant["entitlement"] for grant in reader.records("grants"))
    largest = ", ".join(f"{groups.get(ent, ent)} ({n})" for ent, n in sizes.most_common(4))
    return [
        f"  {users} users ({disabled} disabled: invited, not yet verified), {len(groups)} groups, "
        f"{sum(sizes.values())} memberships",
        f"  largest groups: {largest}",
    ]


def _key(ref: dict[str, Any]) -> str:
    return ids.resource_key(ref["resource_type"], ref["id"])


def gusto_summary(reader: SnapshotReader) -> list[str]:
    kinds: Counter[str] = Counter()
    disabled: Counter[str] = Counter()
    names: dict[str, str] = {}
    company = ""
    for record in reader.records("resources"):
        kinds[record["resource_type"]] += 1
        disabled[record["resource_type"]] += record["status"] == "disabled"
        names[_key(record)] = record["display_name"]
        company = record["display_name"] if record["resource_type"] == "company" else company
    principals = [grant["principal"] for grant in reader.records("grants")]
    admins = [f"{names.get(_key(p), '?')} ({p['resource_type']})" for p in principals]
    return [
        f"  company {company}: {kinds['employee']} employees ({disabled['employee']} terminated), "
        f"{kinds['contractor']} contractors ({disabled['contractor']} inactive)",
        f"  {len(admins)} company admins: {', '.join(admins)}",
        f"  {counted(kinds['user'], 'admin')} matching no employee or contractor, kept with resource type user",
    ]


def demo_requests(guru: GuruSimulator, gusto: GustoSimulator) -> list[str]:
    """A batch an access-request system might send: four changes, one bad message, one duplicate."""
    group = guru.group_ids()[-2]
    newcomer = next(
        guru.member_email(i) for i in range(2, GURU_MEMBERS) if not guru.is_member(group, guru.member_email(i))
    )
    hire = {
        "request_id": "demo-hire-grace",
        "connector": "gusto",
        "action": "create_account",
        "account": {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace.hopper@example.com",
            "self_onboarding": True,
        },
    }
    requests = [
        hire,
        {
            "request_id": "demo-admin-linus",
            "connector": "gusto",
            "action": "grant",
            "entitlement_id": ids.entitlement_id("company", gusto.company_uuid, "admin"),
            "principal": {"email": "linus.t@example.com", "first_name": "Linus", "last_name": "Torvalds"},
        },
        {
            "request_id": "demo-guru-group",
            "connector": "guru",
            "action": "grant",
            "entitlement_id": ids.entitlement_id("group", group, "member"),
            "principal": {"resource_type": "user", "id": newcomer},
        },
        {
            "request_id": "demo-revoke-admin",
            "connector": "gusto",
            "action": "revoke",
            "grant_id": ids.grant_id(ids.entitlement_id("company", gusto.company_uuid, "admin"), "user", "somebody"),
        },
        {"request_id": "demo-typo", "connector": "gusto", "action": "grnat", "entitlement_id": "company:x:admin"},
        hire,
    ]
    return [json.dumps(request) for request in requests]


def provision_through_queue(stack: LocalStack, bodies: list[str], log: TextIO) -> list[dict[str, Any]]:
    """Sends the requests to the queue, hands the received batch to the ProvisioningFunction as Lambda's
    SQS poller would, and deletes what the handler did not report as failed."""
    sqs = stack.client("sqs")
    queue = stack.queue_url()
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1)[
        "Messages"
    ]
    event = {"Records": [sqs_record(message) for message in received]}
    handler = load_handler_module("provisioning").handler
    with lambda_output(log):
        response = handler(event, LocalLambdaContext(function_name="provisioning"))
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for message in received:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    results = []
    store = S3BlobStore(stack.bucket)
    for key in sorted(store.list_keys("provisioning/results/")):
        raw = store.get_bytes(key)
        if raw:
            results.append(json.loads(raw))
    return results


def sqs_record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{LocalStack.queue}",
        "awsRegion": "us-east-1",
    }


def outcome_table(outcomes: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"  {'request':<22} {'action':<15} {'status':<13} message",
        f"  {'-' * 22} {'-' * 15} {'-' * 13} {'-' * 40}",
    ]
    for outcome in outcomes:
        lines.append(
            f"  {outcome['request_id'][:22]:<22} {str(outcome.get('action') or '-')[:15]:<15} "
            f"{outcome['status']:<13} {outcome['message']}"
        )
    return lines


def change_lines(diff: SnapshotDiff, after: SnapshotReader) -> list[str]:
    if diff.empty:
        return ["  no changes"]
    changed = set(diff.added_resources) | {key for key, _, _ in diff.status_changes}
    grants = {
        grant["id"]: _key(grant["principal"]) for grant in after.records("grants") if grant["id"] in diff.added_grants
    }
    wanted = changed | set(grants.values())
    names = {_key(r): r["display_name"] for r in after.records("resources") if _key(r) in wanted}
    entitlements = {e["id"]: e["display_name"] for e in after.records("entitlements")}  # one per group or company
    lines = [f"  + {key.split(':')[0]} {names.get(key, key)}" for key in diff.added_resources]
    lines += [f"  - {key}" for key in diff.removed_resources]
    lines += [f"  ~ {names.get(key, key)}: {old} → {new}" for key, old, new in diff.status_changes]
    for grant_id in diff.added_grants:
        entitlement = grant_id.rsplit(":", 2)[0]
        what = entitlements.get(entitlement, entitlement)
        lines.append(f"  + {names.get(grants.get(grant_id, ''), grants.get(grant_id))} got {what}")
    lines += [f"  - grant {key}" for key in diff.removed_grants]
    return lines


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


def report_sync(stack: LocalStack, result: dict[str, Any]) -> SnapshotReader:
    reader = SnapshotReader(S3BlobStore(stack.bucket), result["snapshot"])
    manifest = reader.manifest
    print(
        f"{manifest.connector} sync {manifest.sync_id}: {result['requests']} API requests, "
        f"{result['duration_seconds']:.2f} s, {counted(manifest.invocations, 'invocation')}"
    )
    return reader


def run_demo(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "demo-lambda.log"
    guru = GuruSimulator(members=GURU_MEMBERS, groups=GURU_GROUPS)
    gusto = GustoSimulator(
        employees=GUSTO_EMPLOYEES, contractors=GUSTO_CONTRACTORS, admins=GUSTO_ADMINS, access_token_ttl=240
    )
    with (
        local_aws() as stack,
        guru.serve() as guru_root,
        gusto.serve() as gusto_root,
        log_path.open("w") as log,
    ):
        s3_client.cache_clear()
        os.environ.update(stack.lambda_environment(), GURU_BASE_URL=f"{guru_root}/api/v1", GUSTO_BASE_URL=gusto_root)
        stack.store_secret(stack.guru_secret_id, {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN})
        # Issued with an access token that has under 5 minutes left, so the first call shows a safe rotation.
        stack.store_secret(stack.gusto_secret_id, gusto.issue_credentials(environment="demo"))
        print("access-sync demo: simulated Guru and Gusto on loopback ports, AWS emulated by moto")
        print(f"  guru   {guru_root}/api/v1  ({GURU_MEMBERS} members, {GURU_GROUPS} groups)")
        print(f"  gusto  {gusto_root}  ({GUSTO_EMPLOYEES} employees, {GUSTO_CONTRACTORS} contractors)")
        print(f"  aws    {stack.endpoint}  (bucket, 2 secrets, DynamoDB table, SQS queue + DLQ)")

        section("1. Scheduled syncs (the real Lambda handlers, events/*_sync_schedule.json)")
        first = {name: invoke_sync(f"{name}_sync", f"{name}_sync_schedule.json", log) for name in ("guru", "gusto")}
        for line in guru_summary(report_sync(stack, first["guru"])):
            print(line)
        for line in gusto_summary(report_sync(stack, first["gusto"])):
            print(line)
        stored = stack.read_secret(stack.gusto_secret_id)["refresh_token"]
        print(
            f"  Gusto tokens refreshed {counted(gusto.refresh_count, 'time')}; the rotated refresh token stored in "
            f"Secrets Manager still works: {'yes' if gusto.refresh_token_valid(stored) else 'NO'}"
        )

        section("2. Access requests through SQS → ProvisioningFunction")
        outcomes = provision_through_queue(stack, demo_requests(guru, gusto), log)
        for line in outcome_table(outcomes):
            print(line)
        print("  (the duplicate 'demo-hire-grace' was carried out once; its first outcome was reported again)")

        section("3. Syncs again: what changed")
        for name in ("guru", "gusto"):
            before = SnapshotReader(S3BlobStore(stack.bucket), first[name]["snapshot"])
            after = SnapshotReader(
                S3BlobStore(stack.bucket), invoke_sync(f"{name}_sync", f"{name}_sync_schedule.json", log)["snapshot"]
            )
            print(f"{name}:")
            for line in change_lines(diff_snapshots(before, after), after):
                print(line)

        section("Results")
        copied = stack.download("", str(out))
        print(f"  {copied} files copied from s3://{stack.bucket} to {out}/")
        print(f"  latest snapshots: {out}/snapshots/connector=<guru|gusto>/latest.json")
        print(f"  provisioning outcomes: {out}/provisioning/results/")
        print(f"  Lambda logs and metrics (JSON lines): {log_path}")
        print(f"  try:  zcat {out}/{first['guru']['snapshot']}/grants.jsonl.gz | head -3")
    return 0


def run_demo_command(args: argparse.Namespace) -> int:
    require_output(args.output, "demo", ("text",))
    return run_demo(Path(args.out).resolve())
