"""`make local-aws`: what `sam local invoke --env-vars env.json` expects to find on the host, until Ctrl-C.

A moto server on the port of env.json's AWS_ENDPOINT_URL, seeded with exactly the names env.json gives the
functions (bucket, secrets, table) and the queue the events/provision_*.json records come from, plus simulated
Guru and Gusto on the ports of its GURU_BASE_URL and GUSTO_BASE_URL. The secrets hold the simulators' own test
credentials. Everything listens on loopback unless `--bind` names another address (on Linux, the Docker
bridge's, where `--add-host host.docker.internal:host-gateway` points; see the README).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from access_sync_dev.local_aws import FAKE_CREDENTIALS, LocalStack, environment
from access_sync_dev.local_lambda import REPO_ROOT
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator


@dataclass(frozen=True)
class SamLocalNames:
    """The names and ports env.json (and the sample events) use."""

    aws_port: int
    guru_port: int
    gusto_port: int
    bucket: str
    guru_secret_id: str
    gusto_secret_id: str
    table: str
    queue: str

    @classmethod
    def from_repository(cls, root: Path = REPO_ROOT) -> SamLocalNames:
        functions: dict[str, dict[str, str]] = json.loads((root / "env.json").read_text())
        merged: dict[str, str] = {}
        for variables in functions.values():
            merged.update(variables)
        event = json.loads((root / "events" / "provision_grant.json").read_text())
        return cls(
            aws_port=_port(merged["AWS_ENDPOINT_URL"]),
            guru_port=_port(merged["GURU_BASE_URL"]),
            gusto_port=_port(merged["GUSTO_BASE_URL"]),
            bucket=merged["SNAPSHOT_BUCKET"],
            guru_secret_id=merged["GURU_SECRET_ID"],
            gusto_secret_id=merged["GUSTO_SECRET_ID"],
            table=merged["IDEMPOTENCY_TABLE"],
            queue=event["Records"][0]["eventSourceARN"].rsplit(":", 1)[-1],
        )


def _port(url: str) -> int:
    port = httpx.URL(url).port
    if port is None:
        raise ValueError(f"{url} in env.json names no port")
    return port


@contextlib.contextmanager
def sam_local_world(
    names: SamLocalNames, bind: str = "127.0.0.1", *, ports: bool = True
) -> Iterator[tuple[LocalStack, str, str]]:
    """Moto seeded with `names` and both simulators, serving until the block ends; yields the stack and the
    simulators' root URLs. `ports=False` takes free ports instead of env.json's (for tests)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=bind, port=names.aws_port if ports else 0, verbose=False)
    server.start()
    guru, gusto = GuruSimulator(), GustoSimulator()
    try:
        host, port = server.get_host_and_port()
        stack = LocalStack(
            f"http://{host}:{port}",
            bucket=names.bucket,
            guru_secret_id=names.guru_secret_id,
            gusto_secret_id=names.gusto_secret_id,
            table=names.table,
            queue=names.queue,
        )
        with contextlib.ExitStack() as serving:
            guru_root = serving.enter_context(guru.serve(names.guru_port if ports else 0, bind))
            gusto_root = serving.enter_context(gusto.serve(names.gusto_port if ports else 0, bind))
            with environment(FAKE_CREDENTIALS):
                stack.create_resources()
                stack.store_secret(
                    names.guru_secret_id, {"user_email": guru.ADMIN_EMAIL, "api_token": guru.ADMIN_TOKEN}
                )
                stack.store_secret(names.gusto_secret_id, gusto.issue_credentials(environment="demo"))
            yield stack, guru_root, gusto_root
    finally:
        server.stop()


def describe(stack: LocalStack, guru_root: str, gusto_root: str) -> list[str]:
    return [
        f"AWS (moto)  {stack.endpoint}: bucket {stack.bucket}, secrets {stack.guru_secret_id} and "
        f"{stack.gusto_secret_id}, table {stack.table}, queue {stack.queue}",
        f"Guru        {guru_root}/api/v1",
        f"Gusto       {gusto_root}",
        "Now, in another terminal: sam local invoke GuruSyncFunction -e events/guru_sync_schedule.json "
        "--env-vars env.json (see the README). Ctrl-C stops.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make local-aws", description=__doc__)
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default: loopback)")
    args = parser.parse_args(argv)
    with sam_local_world(SamLocalNames.from_repository(), args.bind) as world:
        print("\n".join(describe(*world)), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
