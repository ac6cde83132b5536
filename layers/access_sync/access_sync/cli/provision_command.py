"""`access-sync provision`: operators run requests through the same service as the ProvisioningFunction."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import httpx

from access_sync.errors import ConfigurationError
from access_sync.http.rehearsal import RehearsalTransport
from access_sync.models.provisioning import Rehearsal
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.provisioning.rehearsal import rehearse
from access_sync.provisioning.service import ProvisioningService, Recorded
from access_sync.stores.expiries import StoredGrantEnds
from access_sync.stores.idempotency import persistence_layer
from access_sync.stores.secrets import SecretsManagerStore, SecretStore
from access_sync.wiring.connections import local_connection, open_blob_store, open_secret_store
from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END

NOT_DONE = {"failed", "unsupported", "rejected"}


def read_requests(source: str) -> list[object]:
    """Each request as parsed JSON; each is validated on its own, so a malformed one is rejected alone."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {source}: {exc.strerror}.") from None
    try:
        loaded = json.loads(text)
    except (ValueError, RecursionError):
        name = "stdin" if source == "-" else source
        raise ConfigurationError(f"{name} is not JSON: give one request object or an array of them.") from None
    return loaded if isinstance(loaded, list) else [loaded]


def _connectors(requests: list[object]) -> set[str]:
    return {
        str(request["connector"])
        for request in requests
        if isinstance(request, dict) and request.get("connector") in CONNECTORS
    }


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


def print_outcome(recorded: Recorded) -> None:
    outcome = recorded.outcome
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
    # Outside Lambda there is no deadline to register; Powertools then keeps an in-progress record for its
    # default window, which is what an operator's run needs, so its warning about it is only noise.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    table = os.environ.get("IDEMPOTENCY_TABLE")
    provisioners = provisioner_factory(args, connectors, table, transport)
    store = open_blob_store(args.out)
    service = ProvisioningService(
        lambda connector: provisioners[connector],
        CONNECTORS,
        OutcomeRecorder(store),
        persistence_layer(table, None if table else idempotency_folder(args.out)),
        ends=StoredGrantEnds(store),
        no_end=NO_GRANT_END,
    )
    return service, provisioners


def close_all(provisioners: dict[str, Provisioner]) -> None:
    for provisioner in provisioners.values():
        provisioner.close()


def run_provision_command(args: argparse.Namespace) -> int:
    requests = read_requests(args.file)
    # A dry run's connectors read from the real API but cannot send a change (access_sync.http.rehearsal).
    service, provisioners = local_service(args, _connectors(requests), RehearsalTransport() if args.dry_run else None)
    not_done = 0
    try:
        for request in requests:
            if args.dry_run:
                rehearsal = rehearse(service, json.dumps(request))
                not_done += rehearsal.status in NOT_DONE
                print_rehearsal(rehearsal, as_json=getattr(args, "output", "text") == "json")
                continue
            recorded = service.handle(json.dumps(request))
            not_done += recorded.outcome.status in NOT_DONE
            print_outcome(recorded)
    finally:
        close_all(provisioners)
    return 1 if not_done else 0
