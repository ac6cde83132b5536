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

from access_sync.cli.local_aws import LocalStack, local_aws
from access_sync.cli.local_lambda import REPO_ROOT, LocalLambdaContext, load_handler_module
from access_sync.errors import ConfigurationError
from access_sync.observability import logger
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.s3 import S3BlobStore, s3_client

GURU_MEMBERS, GURU_GROUPS = 300, 12


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
            groups[f"group:{record['id']}:member"] = record["display_name"]
    sizes = Counter(grant["entitlement"] for grant in reader.records("grants"))
    largest = ", ".join(f"{groups.get(ent, ent)} ({n})" for ent, n in sizes.most_common(4))
    return [
        f"  {users} users ({disabled} disabled: invited, not yet verified), {len(groups)} groups, "
        f"{sum(sizes.values())} memberships",
        f"  largest groups: {largest}",
    ]


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def report_sync(stack: LocalStack, result: dict[str, Any]) -> SnapshotReader:
    reader = SnapshotReader(S3BlobStore(stack.bucket), result["snapshot"])
    manifest = reader.manifest
    print(
        f"{manifest.connector} sync {manifest.sync_id}: {result['requests']} API requests, "
        f"{result['duration_seconds']:.2f} s, {manifest.invocations} invocation(s)"
    )
    return reader


def run_demo(out: Path) -> int:
    from access_sync_sim.guru import GuruSimulator

    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "demo-lambda.log"
    guru = GuruSimulator(members=GURU_MEMBERS, groups=GURU_GROUPS)
    with (
        local_aws() as stack,
        guru.serve() as guru_root,
        log_path.open("w") as log,
    ):
        s3_client.cache_clear()
        os.environ.update(stack.lambda_environment(), GURU_BASE_URL=f"{guru_root}/api/v1")
        stack.store_secret(stack.guru_secret_id, {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN})
        print("access-sync demo: simulated Guru and Gusto on loopback, AWS emulated by moto")
        print(f"  guru  {guru_root}/api/v1   ({GURU_MEMBERS} members, {GURU_GROUPS} groups)")
        print(f"  aws   {stack.endpoint}   (bucket {stack.bucket}, secrets {stack.guru_secret_id})")

        section("Guru sync (GuruSyncFunction, events/guru_sync_schedule.json)")
        guru_result = invoke_sync("guru_sync", "guru_sync_schedule.json", log)
        for line in guru_summary(report_sync(stack, guru_result)):
            print(line)

        section("Results")
        copied = stack.download("", str(out))
        print(f"  {copied} files copied from s3://{stack.bucket} to {out}/")
        print(f"  Guru snapshot: {out / guru_result['snapshot']}")
        print(f"  Lambda logs and metrics (JSON): {log_path}")
        print(f"  query it:  zcat {out / guru_result['snapshot']}/grants.jsonl.gz | head -3")
    return 0


def run_demo_command(args: argparse.Namespace) -> int:
    try:
        import access_sync_sim  # noqa: F401 - the simulators ship with the source checkout, not the layer
    except ImportError:
        raise ConfigurationError("The demo needs the simulators: run it from a source checkout (make demo).") from None
    return run_demo(Path(args.out).resolve())
