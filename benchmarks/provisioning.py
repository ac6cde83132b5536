"""`python -m benchmarks.provisioning`: a batch of ten Guru grants against one, through the real handler.

The ProvisioningFunction's handler runs in this process against moto servers for AWS (S3 in one, DynamoDB,
EventBridge, Secrets Manager and Scheduler in another: devtools' local AWS) and the Guru simulator at LATENCY a request,
both on loopback ports. Each request is a grant of group membership to a member not yet in the group, in the
shape of events/provision_grant.json; every AWS call first waits AWS_LATENCY, as each Guru request does
LATENCY. After one warm-up invocation (the container's first, which loads what
the handler's import left to first use), ROUNDS batches of one request and ROUNDS batches of BATCH
independent requests are timed; the row compares the medians. Every request must succeed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

import psutil

from access_sync.observability import logger
from access_sync.stores.aws_clients import forget_aws_clients
from access_sync.wiring import provisioning_lambda
from access_sync_dev.local_aws import LocalStack, environment, local_aws
from access_sync_dev.local_lambda import REPO_ROOT, LocalLambdaContext, load_handler_module
from access_sync_sim.guru import GuruSimulator
from benchmarks.targets import Target, print_targets

LATENCY = 0.02
BATCH = 10
ROUNDS = 3
TARGET_RATIO = 3.0
AWS_LATENCY = 0.01  # a typical in-region latency of S3 and DynamoDB calls
_EVENT = REPO_ROOT / "events/provision_grant.json"


def _record(body: str) -> dict[str, Any]:
    """An SQS record shaped like those of events/provision_grant.json, carrying `body`."""
    template: dict[str, Any] = json.loads(_EVENT.read_text())["Records"][0]
    return {
        **template,
        "messageId": str(uuid.uuid4()),
        "body": body,
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
    }


def _grants(guru: GuruSimulator) -> Iterator[dict[str, Any]]:
    """One SQS record per grant the simulated team does not have yet, each with a request_id of its own."""
    for n, (gid, email) in enumerate(guru.outsiders(1 + ROUNDS + ROUNDS * BATCH)):
        body = {
            "request_id": f"bench-grant-{n}",
            "connector": "guru",
            "action": "grant",
            "entitlement_id": f"group:{gid}:member",
            "principal": {"resource_type": "user", "id": email},
        }
        yield _record(json.dumps(body))


def _timed_batch(handler: Any, records: list[dict[str, Any]]) -> float:
    """The handler's wall time for one batch of `records`, none of which may be sent back to the queue."""
    started = time.perf_counter()
    with redirect_stdout(io.StringIO()):  # the handler's metrics, a line per batch, would bury the table
        response = handler({"Records": records}, LocalLambdaContext())
    wall = time.perf_counter() - started
    if response != {"batchItemFailures": []}:
        raise RuntimeError(f"the benchmark's batch was not carried out in full: {response}")
    return wall


def _check_succeeded(stack: LocalStack, records: list[dict[str, Any]]) -> None:
    s3 = stack.client("s3")
    for record in records:
        key = f"provisioning/results/{json.loads(record['body'])['request_id']}.json"
        status = json.loads(s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read())["status"]
        if status != "succeeded":
            raise RuntimeError(f"{key} says {status}, not succeeded")


@dataclass(frozen=True)
class Walls:
    first: float  # the container's first invocation, one request
    single: float  # median wall of a batch of one request
    batch: float  # median wall of a batch of BATCH requests
    peak_in_flight: int  # the most Guru requests the simulator answered at once during the batches
    moto_cpu: float  # CPU seconds moto spent on one batch's AWS calls, in all its processes
    moto_busiest: float  # of those, the most one moto process spent
    own_cpu: float  # CPU seconds this process (handler, boto3, httpx, the simulator) spent on one batch

    @property
    def ratio(self) -> float:
        return self.batch / self.single

    @property
    def cpu_floor(self) -> float:
        """The least wall a batch can take on this machine: each process does its part on one CPU at a time (one
        interpreter lock each), and both together on every CPU there is."""
        return max(self.moto_busiest, self.own_cpu, (self.moto_cpu + self.own_cpu) / (os.cpu_count() or 1))


def _delay_every_aws_call(seconds: float) -> None:
    """Every AWS call of this process's boto3 clients waits `seconds` before it is sent (a network's latency)."""
    import boto3

    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    session.events.register("before-send", lambda **_: time.sleep(seconds))


def measure(aws_latency: float = 0.0) -> Walls:
    logger.setLevel(logging.WARNING)  # a line per request would bury the table
    guru = GuruSimulator(latency=LATENCY)
    with local_aws(own_process=True) as stack, guru.serve() as root:
        motos = [child for child in psutil.Process().children() if "moto.server" in child.cmdline()]
        stack.store_secret(stack.guru_secret_id, {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN})
        with environment({**stack.lambda_environment(), "GURU_BASE_URL": f"{root}/api/v1"}):
            forget_aws_clients()  # clients of this moto server only
            if aws_latency:
                _delay_every_aws_call(aws_latency)
            provisioning_lambda._service.cache_clear()
            handler = load_handler_module("provisioning").handler
            records = list(_grants(guru))
            first = _timed_batch(handler, records[:1])
            singles = [_timed_batch(handler, [record]) for record in records[1 : 1 + ROUNDS]]
            guru.peak_in_flight = 0
            moto_before, own_before = [_cpu(moto) for moto in motos], time.process_time()
            at = 1 + ROUNDS
            batches = [_timed_batch(handler, records[at + n * BATCH : at + (n + 1) * BATCH]) for n in range(ROUNDS)]
            moto_each = [(_cpu(moto) - before) / ROUNDS for moto, before in zip(motos, moto_before, strict=True)]
            own_cpu = (time.process_time() - own_before) / ROUNDS
            _check_succeeded(stack, records)
            provisioning_lambda._service.cache_clear()
            forget_aws_clients()
    import boto3

    boto3.DEFAULT_SESSION = None  # no delay left behind
    single, batch = statistics.median(singles), statistics.median(batches)
    return Walls(first, single, batch, guru.peak_in_flight, sum(moto_each), max(moto_each), own_cpu)


def _cpu(process: psutil.Process) -> float:
    user, system = process.cpu_times()[:2]
    return float(user + system)


def targets() -> list[Target]:
    delayed, instant = measure(aws_latency=AWS_LATENCY), measure()
    return [
        Target(
            what=(
                f"provisioning: batch of {BATCH} independent Guru grants through the handler "
                f"(Guru at {LATENCY * 1000:.0f} ms, AWS at {AWS_LATENCY * 1000:.0f} ms a call)"
            ),
            figure=f"{delayed.batch:.3f} s for {BATCH} vs {delayed.single:.3f} s for one = {delayed.ratio:.2f} x",
            target=f"<= {TARGET_RATIO:.0f} x one request's wall",
            passed=delayed.ratio <= TARGET_RATIO,
            notes=(
                f"medians of {ROUNDS} batches each; up to {provisioning_lambda.BATCH_WORKERS} items at once, and the "
                f"simulator saw up to {delayed.peak_in_flight} requests in flight. AWS is moto with "
                f"{AWS_LATENCY * 1000:.0f} ms added before every call, an in-region latency, as the simulator adds "
                f"Guru's. Moto alone answers without latency but not without CPU: then a batch takes "
                f"{instant.batch:.3f} s vs {instant.single:.3f} s = {instant.ratio:.2f} x, with "
                f"{instant.moto_cpu:.3f} s of moto's CPU (S3 and the rest in a process each, the busier "
                f"{instant.moto_busiest:.3f} s) and {instant.own_cpu:.3f} s of this process's, so "
                "(one interpreter lock each, "
                f"{os.cpu_count()} CPUs) no batch can take less than {instant.cpu_floor:.3f} s = "
                f"{instant.cpu_floor / instant.single:.2f} x one request. The container's first invocation (one "
                f"grant) took {delayed.first:.3f} s"
            ),
        )
    ]


def main() -> int:
    return print_targets(targets())


if __name__ == "__main__":
    sys.exit(main())
