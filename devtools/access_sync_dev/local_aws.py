"""A local AWS for the demo and the benchmark: a moto server on loopback with the stack's resources.

Stands in for `sam deploy`: the bucket, both secrets, the table, the queue and its DLQ, and the schedule
group for the ends of time-bound grants, named as the Lambda environment expects them. boto3 honours
AWS_ENDPOINT_URL, so the real handlers talk to it unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# With moto in processes of its own, these services get one each: S3 takes most of a provisioning request's
# calls, and on AWS no two services share a machine, let alone an interpreter lock.
SERVICES_APART = ("s3",)


@dataclass
class LocalStack:
    endpoint: str
    endpoints: dict[str, str] = field(default_factory=dict)  # service → the moto server of its own, if it has one
    bucket: str = "access-sync-demo-snapshots"
    guru_secret_id: str = "access-sync/guru"
    gusto_secret_id: str = "access-sync/gusto"
    table: str = "access-sync-demo-idempotency"
    queue: str = "access-sync-demo-provision"
    expiry_group: str = "access-sync-demo-expiries"
    expiry_role_arn: str = "arn:aws:iam::123456789012:role/access-sync-demo-expiry-scheduler"

    def lambda_environment(self) -> dict[str, str]:
        return {
            "SNAPSHOT_BUCKET": self.bucket,
            "GURU_SECRET_ID": self.guru_secret_id,
            "GUSTO_SECRET_ID": self.gusto_secret_id,
            "IDEMPOTENCY_TABLE": self.table,
            "EVENT_BUS_NAME": "default",
            "EXPIRY_SCHEDULE_GROUP": self.expiry_group,
            "EXPIRY_SCHEDULER_ROLE_ARN": self.expiry_role_arn,
            "PROVISION_QUEUE_ARN": f"arn:aws:sqs:us-east-1:123456789012:{self.queue}",
        }

    def client(self, service: str) -> Any:
        make_client: Any = boto3.client  # typed per service name; this helper takes any
        return make_client(service, endpoint_url=self.endpoints.get(service, self.endpoint))

    def create_resources(self) -> None:
        self.client("s3").create_bucket(Bucket=self.bucket)
        self.client("dynamodb").create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = self.client("sqs")
        dlq = sqs.create_queue(QueueName=f"{self.queue}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
        sqs.create_queue(QueueName=self.queue, Attributes={"RedrivePolicy": redrive})
        self.client("scheduler").create_schedule_group(Name=self.expiry_group)

    def schedules(self) -> list[dict[str, Any]]:
        """Every schedule in the expiry group, in full (moto keeps them but never runs them)."""
        scheduler = self.client("scheduler")
        listed = scheduler.list_schedules(GroupName=self.expiry_group)["Schedules"]
        return [scheduler.get_schedule(Name=item["Name"], GroupName=self.expiry_group) for item in listed]

    def store_secret(self, secret_id: str, value: dict[str, Any]) -> None:
        self.client("secretsmanager").create_secret(Name=secret_id, SecretString=json.dumps(value))

    def read_secret(self, secret_id: str) -> dict[str, Any]:
        raw = self.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        value: dict[str, Any] = json.loads(raw)
        return value

    def queue_url(self) -> str:
        url: str = self.client("sqs").get_queue_url(QueueName=self.queue)["QueueUrl"]
        return url

    def download(self, prefix: str, target: str) -> int:
        """Copies every object under `prefix` into the folder `target`, keeping keys; returns how many."""
        s3 = self.client("s3")
        copied = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                path = os.path.join(target, item["Key"])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                s3.download_file(self.bucket, item["Key"], path)
                copied += 1
        return copied


@contextmanager
def local_aws(own_process: bool = False) -> Iterator[LocalStack]:
    """Starts moto on a loopback port and points boto3 at it (AWS_ENDPOINT_URL) until the block ends.

    `own_process`: moto runs in processes of its own (one for SERVICES_APART each, one for the rest, each
    service's endpoint in AWS_ENDPOINT_URL_<SERVICE>), so that its work is not counted against (and does not
    share an interpreter lock with) the code being measured — the benchmark's choice.
    """
    with ExitStack() as running:
        endpoint = running.enter_context(_moto_process() if own_process else _moto_thread())
        endpoints = {service: running.enter_context(_moto_process()) for service in SERVICES_APART if own_process}
        variables = {f"AWS_ENDPOINT_URL_{service.upper()}": url for service, url in endpoints.items()}
        running.enter_context(environment({**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, **variables}))
        stack = LocalStack(endpoint, endpoints)
        stack.create_resources()
        yield stack


@contextmanager
def _moto_thread() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def _moto_process(start_timeout: float = 30.0) -> Iterator[str]:
    with socket.socket() as probe:  # a free port (moto's command line cannot pick one itself)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start listening on port {port}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Sets `values` in os.environ for the block, then puts back what was there (or nothing)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
