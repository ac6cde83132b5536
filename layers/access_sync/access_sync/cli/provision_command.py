"""`access-sync provision`: operators run requests through the same service as the ProvisioningFunction."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx
from aws_lambda_powertools.utilities.typing import LambdaContext

from access_sync.cli.output import print_csv, print_json, require_output
from access_sync.errors import ConfigurationError
from access_sync.http.rehearsal import RehearsalTransport
from access_sync.models.provisioning import RESULTS_PREFIX, Rehearsal
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.provisioning.rehearsal import rehearse
from access_sync.provisioning.service import ProvisioningService, Recorded
from access_sync.stores.blob import BlobStore
from access_sync.stores.expiries import StoredGrantEnds
from access_sync.stores.idempotency import persistence_layer
from access_sync.stores.secrets import SecretsManagerStore, SecretStore
from access_sync.wiring.connections import local_connection, open_blob_store, open_destination, open_secret_store
from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END

NOT_DONE = {"failed", "unsupported", "rejected"}
OPERATOR_RUN_SECONDS = 600
OUTPUTS = ("text", "json", "csv")
CSV_COLUMNS = ["request_id", "connector", "action", "status", "message", "location"]
USAGE = (
    "access-sync provision reads requests as JSON from --file FILE or from a pipe, e.g. "
    "`access-sync provision --file requests.json` or `cat requests.json | access-sync provision`."
)


def _read(source: str | None) -> tuple[str, str]:
    """The input exactly as read (undecodable bytes kept as escapes), and what to call it in messages."""
    if source in (None, "-"):
        if source is None and sys.stdin.isatty():
            raise ConfigurationError(USAGE)  # nobody is going to type JSON at a terminal that says nothing
        return sys.stdin.buffer.read().decode("utf-8", "surrogateescape"), "stdin"
    try:
        return Path(source).read_bytes().decode("utf-8", "surrogateescape"), source
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {source}: {exc.strerror}.") from None


def read_requests(source: str | None) -> tuple[list[str], str]:
    """The raw body of each request, and the input's name. Each body is validated on its own, so a malformed one
    is rejected alone; input that is not JSON is one body, kept exactly as read, which the service rejects."""
    text, name = _read(source)
    try:
        loaded = json.loads(text)
    except (ValueError, RecursionError):
        return [text], name
    items = loaded if isinstance(loaded, list) else [loaded]
    return [json.dumps(item) for item in items], name


def _connectors(bodies: list[str]) -> set[str]:
    found = set()
    for body in bodies:
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            continue
        if isinstance(request, dict) and request.get("connector") in CONNECTORS:
            found.add(str(request["connector"]))
    return found


def provisioner_factory(
    args: argparse.Namespace,
    connectors: set[str],
    table: str | None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Provisioner]:
    """--credentials/--secret-id/--base-url belong to the file's one connector; a mixed file takes Guru's from
    the environment (or --guru-secret-id) and base URLs from GURU_BASE_URL / GUSTO_BASE_URL."""
    mixed = len(connectors) > 1
    made: dict[str, Provisioner] = {}
    for connector in sorted(connectors):
        secrets: SecretStore | None
        if connector == "guru" and mixed:
            secrets = SecretsManagerStore(args.guru_secret_id) if args.guru_secret_id else None
            base_url = None
        else:
            secrets = open_secret_store(args.credentials, args.secret_id)
            base_url = None if mixed else args.base_url
        spec = CONNECTORS[connector]
        made[connector] = spec.provisioner(
            local_connection(spec, secrets, base_url, transport=transport, lease_table=table)
        )
    return made


def idempotency_folder(out: str) -> Path:
    if out.startswith("s3://"):
        return Path.home() / ".cache" / "access-sync" / "idempotency"
    return Path(out) / "provisioning" / ".idempotency"


def print_outcome(recorded: Recorded, output: str) -> None:
    outcome = recorded.outcome
    if output == "json":
        print_json(outcome.model_dump(mode="json"))  # JSON lines: one outcome per request
    elif output == "csv":
        print_csv(
            [],
            [
                (
                    outcome.request_id,
                    outcome.connector,
                    outcome.action,
                    outcome.status,
                    outcome.message,
                    recorded.location,
                )
            ],
        )
    else:
        print(f"{outcome.request_id:<28} {outcome.action or '-':<16} {outcome.status:<13} {outcome.message}")
        print(f"{'':<28} → {recorded.location}")


def print_rehearsal(rehearsal: Rehearsal, as_json: bool) -> None:
    if as_json:
        print(rehearsal.model_dump_json())
        return
    print(f"{rehearsal.request_id:<28} {rehearsal.action or '-':<16} {rehearsal.status:<13} {rehearsal.message}")
    for call in rehearsal.calls:
        if call["body"] is not None:
            print(f"{'':<28} body {json.dumps(call['body'])}")


def local_service(
    args: argparse.Namespace, connectors: set[str], transport: httpx.BaseTransport | None = None
) -> tuple[ProvisioningService, dict[str, Provisioner]]:
    """The ProvisioningFunction's service on this machine: outcomes and ends under --out, idempotency records
    in IDEMPOTENCY_TABLE or beside the outcomes."""
    # A dry run writes nothing, so its destination is neither created nor probed.
    dry_run = isinstance(transport, RehearsalTransport)
    store = open_blob_store(args.out) if dry_run else open_destination(args.out, f"{RESULTS_PREFIX}/")
    table = os.environ.get("IDEMPOTENCY_TABLE")
    provisioners = provisioner_factory(args, connectors, table, transport)
    return operator_service(store, args.out, provisioners, table), provisioners


def operator_service(
    store: BlobStore, out: str, provisioners: dict[str, Provisioner], table: str | None
) -> ProvisioningService:
    """The service every local command carries requests out through: outcomes and ends in `store`,
    idempotency records in `table` or beside the outcomes."""
    service = ProvisioningService(
        lambda connector: provisioners[connector],
        CONNECTORS,
        OutcomeRecorder(store),
        persistence_layer(table, None if table else idempotency_folder(out)),
        ends=StoredGrantEnds(store),
        no_end=NO_GRANT_END,
    )
    # An operator's run has no Lambda deadline; this one lets a request whose run was killed mid-change be tried
    # again OPERATOR_RUN_SECONDS later (it then looks for the change first), instead of weeks later.
    service.idempotency.register_lambda_context(OperatorRun())
    return service


class OperatorRun(LambdaContext):
    """The one thing Powertools reads from a Lambda context: how long an in-progress record may stand."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return OPERATOR_RUN_SECONDS * 1000


def close_all(provisioners: dict[str, Provisioner]) -> None:
    for provisioner in provisioners.values():
        provisioner.close()


def run_provision_command(args: argparse.Namespace) -> int:
    require_output(args.output, "provision", OUTPUTS)
    bodies, source = read_requests(args.file)
    if not bodies:
        print(f"access-sync: no requests in {source}; nothing to do.", file=sys.stderr)
        return 0
    # A dry run's connectors read from the real API but cannot send a change (access_sync.http.rehearsal).
    service, provisioners = local_service(args, _connectors(bodies), RehearsalTransport() if args.dry_run else None)
    if args.output == "csv" and not args.dry_run:
        print_csv(CSV_COLUMNS, [])
    not_done = 0
    try:
        for body in bodies:
            if args.dry_run:
                rehearsal = rehearse(service, body)
                not_done += rehearsal.status in NOT_DONE
                print_rehearsal(rehearsal, as_json=args.output == "json")
                continue
            recorded = service.handle(body)
            not_done += recorded.outcome.status in NOT_DONE
            print_outcome(recorded, args.output)
    finally:
        close_all(provisioners)
    return 1 if not_done else 0
