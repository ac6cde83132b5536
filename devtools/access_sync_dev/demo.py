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
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from access_sync.cli.findings_command import headline
from access_sync.cli.output import counted, require_output
from access_sync.findings.files import latest_pointer, read_lines
from access_sync.findings.service import remediate_latest
from access_sync.models import ids
from access_sync.models.findings import KINDS
from access_sync.observability import logger
from access_sync.snapshot.reader import SnapshotReader
from access_sync.snapshot.views import change_row, change_text, grant_rows
from access_sync.stores.aws_clients import forget_aws_clients
from access_sync.stores.s3 import S3BlobStore
from access_sync_dev.demo_review import run_review
from access_sync_dev.local_aws import LocalStack, local_aws
from access_sync_dev.local_lambda import REPO_ROOT, LocalLambdaContext, load_handler_module
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator
from access_sync_sim.organisation import Organisation

GURU_GROUPS = 12
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


def newcomer(guru: GuruSimulator, group: str, skip: int = 0) -> str:
    """A team member who is not in `group` (the `skip`-th such one)."""
    outside = (email for email in guru.team_emails()[2:] if not guru.is_member(group, email))
    return [email for _, email in zip(range(skip + 1), outside, strict=False)][-1]


def demo_requests(guru: GuruSimulator, gusto: GustoSimulator) -> list[str]:
    """A batch an access-request system might send: five changes (one for a shift only), one bad message, one
    duplicate."""
    group = guru.group_ids()[-2]
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
            "principal": {"resource_type": "user", "id": newcomer(guru, group)},
        },
        {
            "request_id": "demo-guru-shift",
            "connector": "guru",
            "action": "grant",
            "entitlement_id": ids.entitlement_id("group", group, "member"),
            "principal": {"resource_type": "user", "id": newcomer(guru, group, skip=1)},
            "duration": "PT10M",
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
    """Sends the requests to the queue and lets the ProvisioningFunction carry them out; returns their outcomes."""
    sqs = stack.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=stack.queue_url(), MessageBody=body)
    return outcomes_of(stack, drain_queue(stack, log))


def drain_queue(stack: LocalStack, log: TextIO) -> list[str]:
    """Hands what is on the queue to the ProvisioningFunction, ten at a time, as Lambda's SQS poller would, and
    deletes what the handler did not report as failed; returns the request ids it carried."""
    sqs = stack.client("sqs")
    queue = stack.queue_url()
    handler = load_handler_module("provisioning").handler
    carried: list[str] = []
    while received := sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages"):
        event = {"Records": [sqs_record(message) for message in received]}
        with lambda_output(log):
            response = handler(event, LocalLambdaContext(function_name="provisioning"))
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for message in received:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            with contextlib.suppress(ValueError, KeyError):
                carried.append(json.loads(message["Body"])["request_id"])
    return carried


def outcomes_of(stack: LocalStack, request_ids: list[str]) -> list[dict[str, Any]]:
    store = S3BlobStore(stack.bucket)
    results = []
    for key in sorted(store.list_keys("provisioning/results/")):
        raw = store.get_bytes(key)
        if raw and (outcome := json.loads(raw))["request_id"] in request_ids:
            results.append(outcome)
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


def change_lines(after: SnapshotReader, shown: int = 12) -> list[str]:
    """The snapshot's own `changes` records (what changed since its baseline), a dozen at most."""
    counts = after.manifest.changes
    if counts is None or not counts.total:
        return ["  no changes"]
    lines = [f"  {change_text(change_row(record))}" for record in islice(after.records("changes"), shown)]
    if counts.total > shown:
        lines.append(f"  … and {counts.total - shown} more")
    since = f"since {counts.baseline_sync_id}"
    return [*lines, f"  ({counts.added} added, {counts.removed} removed, {counts.modified} modified {since})"]


def access_review_lines(reader: SnapshotReader, shown: int = 6) -> list[str]:
    """A few rows of who holds what, as the access_review view and `access-sync grants -o csv` give them."""
    columns = (("account_name", 22), ("account_email", 34), ("account_status", 14), ("entitlement_name", 26))
    lines = ["  " + "  ".join(name.ljust(width) for name, width in columns)]
    for row, _ in islice(grant_rows(reader), shown):
        lines.append("  " + "  ".join(str(row[name] or "")[:width].ljust(width) for name, width in columns))
    return [line.rstrip() for line in lines]


def findings_table(store: S3BlobStore, limit: int = 12) -> list[str]:
    """The latest findings run as a person reads it: a headline, then one short row per open finding."""
    pointer = latest_pointer(store)
    if pointer is None:
        return ["  no findings run yet"]
    found = [finding for finding in read_lines(store, pointer.path) if finding["status"] == "open"]
    found.sort(key=lambda finding: KINDS.index(finding["kind"]))
    lines = [f"  {headline(found)}.", ""]
    lines.append(f"  {'severity':<8} {'finding':<24} {'account':<40} {'person':<34} groups")
    lines.append(f"  {'-' * 8} {'-' * 24} {'-' * 40} {'-' * 34} ------")
    for finding in found[:limit]:
        subject, person = finding["subject"], finding.get("person")
        account = f"{subject['connector']} {subject.get('email') or subject['id']}"
        who = "-"
        if person:
            when = f" {person['termination_date']}" if person.get("termination_date") else ""
            who = f"{person['display_name']} ({person['status']}{when})"
        lines.append(
            f"  {finding['severity']:<8} {finding['kind']:<24} {account[:40]:<40} {who[:34]:<34} "
            f"{finding['access']['grants']}"
        )
    if len(found) > limit:
        lines.append(f"  … and {len(found) - limit} more: access-sync findings --out <DIR>")
    return lines


def resolved_lines(store: S3BlobStore) -> list[str]:
    pointer = latest_pointer(store)
    resolved = [f for f in read_lines(store, pointer.path) if f["status"] == "resolved"] if pointer else []
    if not resolved:
        return ["  nothing resolved"]
    return [
        f"  resolved: {f['kind']} {f['subject'].get('email') or f['subject']['id']} "
        f"(first seen {f['first_seen_at']}, resolved {f['resolved_at']})"
        for f in resolved
    ]


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


def show(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


def syncs_and_requests(
    stack: LocalStack, guru: GuruSimulator, gusto: GustoSimulator, log: TextIO
) -> dict[str, dict[str, Any]]:
    section("1. Scheduled syncs (the real Lambda handlers, events/*_sync_schedule.json)")
    first = {name: invoke_sync(f"{name}_sync", f"{name}_sync_schedule.json", log) for name in ("guru", "gusto")}
    show(guru_summary(report_sync(stack, first["guru"])))
    show(gusto_summary(report_sync(stack, first["gusto"])))
    stored = stack.read_secret(stack.gusto_secret_id)["refresh_token"]
    print(
        f"  Gusto tokens refreshed {counted(gusto.refresh_count, 'time')}; the rotated refresh token stored in "
        f"Secrets Manager still works: {'yes' if gusto.refresh_token_valid(stored) else 'NO'}"
    )

    section("2. Access requests through SQS → ProvisioningFunction")
    outcomes = provision_through_queue(stack, demo_requests(guru, gusto), log)
    show(outcome_table(outcomes))
    print("  (the duplicate 'demo-hire-grace' was carried out once; its first outcome was reported again)")
    return first


def changes_and_schedule(stack: LocalStack, log: TextIO) -> None:
    """What the next syncs changed, from each snapshot's own changes records; then a time-bound grant ends."""
    (schedule,) = stack.schedules()
    print(
        f"  time-bound 'demo-guru-shift' ends by itself: schedule {schedule['GroupName']}/{schedule['Name']}\n"
        f"    {schedule['ScheduleExpression']} {schedule['ScheduleExpressionTimezone']}, then "
        f"{schedule['ActionAfterCompletion']}; puts on the queue: {schedule['Target']['Input']}"
    )
    store = S3BlobStore(stack.bucket)
    section("3. Syncs again: what changed (each snapshot's changes/ records)")
    for name in ("guru", "gusto"):
        after = SnapshotReader(store, invoke_sync(f"{name}_sync", f"{name}_sync_schedule.json", log)["snapshot"])
        print(f"{name}:")
        show(change_lines(after))

    section("4. The shift is over: the schedule fires (EventBridge Scheduler → SQS → ProvisioningFunction)")
    # moto keeps schedules without running them: the demo puts the input on the queue as Scheduler would.
    end = json.loads(schedule["Target"]["Input"])
    ended = [o for o in provision_through_queue(stack, [json.dumps(end)], log) if o["request_id"] == end["request_id"]]
    show(outcome_table(ended))
    after = SnapshotReader(store, invoke_sync("guru_sync", "guru_sync_schedule.json", log)["snapshot"])
    print("guru, the next sync's changes:")
    show(change_lines(after))


def findings_and_remediation(stack: LocalStack, store: S3BlobStore, log: TextIO) -> None:
    section("5. Findings: Gusto says who works here, Guru who has access (after every sync)")
    show(findings_table(store))

    section("6. Leaver remediation: a dry run, then remove_account through the queue")
    rehearsal = remediate_latest(store, "remove_account", limit=20, dry_run=True)
    for request in rehearsal.requests if rehearsal else []:
        print(f"  would send {request['request_id']}  delete_resource {request['resource']['id']}")
    os.environ.update(LEAVER_REMEDIATION="remove_account", REMEDIATION_MAX_PER_RUN="20")
    invoke_sync("gusto_sync", "gusto_sync_schedule.json", log)  # its findings run sends the requests
    os.environ["LEAVER_REMEDIATION"] = "off"
    show(outcome_table(outcomes_of(stack, drain_queue(stack, log))))
    invoke_sync("guru_sync", "guru_sync_schedule.json", log)
    print("  Guru synced again; the leavers' findings are resolved:")
    show(resolved_lines(store))
    print("  (the breaker: more than REMEDIATION_MAX_PER_RUN requests in one run, and none is sent)")


def results(stack: LocalStack, out: Path, log_path: Path, campaign_id: str, first: dict[str, dict[str, Any]]) -> None:
    section("Results")
    copied = stack.download("", str(out))
    print(f"  {copied} files copied from s3://{stack.bucket} to {out}/")
    print(f"  latest snapshots: {out}/snapshots/connector=<guru|gusto>/latest.json")
    print(f"  provisioning outcomes: {out}/provisioning/results/")
    print(f"  findings: {out}/findings/latest.json  (access-sync findings --out {out})")
    print(f"  Lambda logs and metrics (JSON lines): {log_path}")
    print(f"  review page (open in a browser): {out}/reviews/{campaign_id}/review.html")
    print(f"  review evidence: {out}/reviews/{campaign_id}/evidence.html (and evidence.json)")
    print(f"  all of it, one readable row per grant:  access-sync grants gusto --out {out} -o csv")
    print(f"  what changed:                          access-sync diff guru --out {out}")
    print(f"  try:  zcat {out}/{first['guru']['snapshot']}/grants/*.jsonl.gz | head -3")


def run_demo(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "demo-lambda.log"
    # One organisation seen by both: Gusto's people are Guru's members, with the leavers a findings run must catch.
    organisation = Organisation(employees=GUSTO_EMPLOYEES, contractors=GUSTO_CONTRACTORS, admins=GUSTO_ADMINS)
    guru = GuruSimulator(organisation=organisation, groups=GURU_GROUPS)
    gusto = GustoSimulator(organisation=organisation, access_token_ttl=240)
    with (
        local_aws() as stack,
        guru.serve() as guru_root,
        gusto.serve() as gusto_root,
        log_path.open("w") as log,
    ):
        forget_aws_clients()
        os.environ.update(
            stack.lambda_environment(),
            GURU_BASE_URL=f"{guru_root}/api/v1",
            GUSTO_BASE_URL=gusto_root,
            PROVISION_QUEUE_URL=stack.queue_url(),
        )
        store = S3BlobStore(stack.bucket)
        # The service accounts and the one private address an operator knows about (docs/findings.md).
        store.put_bytes("config/identities.json", json.dumps(organisation.suggested_identities(), indent=2).encode())
        stack.store_secret(stack.guru_secret_id, {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN})
        # Issued with an access token that has under 5 minutes left, so the first call shows a safe rotation.
        stack.store_secret(stack.gusto_secret_id, gusto.issue_credentials(environment="demo"))
        print("access-sync demo: simulated Guru and Gusto on loopback ports, AWS emulated by moto")
        print(f"  guru   {guru_root}/api/v1  ({len(guru.team_emails())} members, {GURU_GROUPS} groups)")
        print(f"  gusto  {gusto_root}  ({GUSTO_EMPLOYEES} employees, {GUSTO_CONTRACTORS} contractors)")
        print(f"  aws    {stack.endpoint}  (bucket, 2 secrets, DynamoDB table, SQS queue + DLQ, schedule group)")

        first = syncs_and_requests(stack, guru, gusto, log)
        changes_and_schedule(stack, log)
        findings_and_remediation(stack, store, log)
        section("7. Access review: decide, carry out through the queue, prove it")

        def sync_all() -> None:
            for name in ("guru", "gusto"):
                invoke_sync(f"{name}_sync", f"{name}_sync_schedule.json", log)

        campaign_id = run_review(stack, out, log, lambda: len(drain_queue(stack, log)), sync_all)
        section("8. Who has access now (the access_review view, a few rows of Gusto)")
        gusto_now = SnapshotReader.latest(store, "gusto")
        show(access_review_lines(gusto_now) if gusto_now else ["  no Gusto snapshot"])
        results(stack, out, log_path, campaign_id, first)
    return 0


def run_demo_command(args: argparse.Namespace) -> int:
    require_output(args.output, "demo", ("text",))
    return run_demo(Path(args.out).resolve())
