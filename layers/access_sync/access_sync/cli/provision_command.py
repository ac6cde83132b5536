"""`access-sync provision`: operators run requests through the same service as the ProvisioningFunction."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from access_sync.errors import ConfigurationError
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.provisioning.service import ProvisioningService, Recorded
from access_sync.stores.idempotency import persistence_layer
from access_sync.stores.secrets import SecretsManagerStore, SecretStore
from access_sync.wiring.connections import local_connection, open_blob_store, open_secret_store
from access_sync.wiring.registry import CONNECTORS

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


def provisioner_factory(args: argparse.Namespace, connectors: set[str], table: str | None) -> dict[str, Provisioner]:
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
        made[connector] = spec.provisioner(local_connection(spec, secrets, base_url, lease_table=table))
    return made


def _idempotency_folder(out: str) -> Path:
    if out.startswith("s3://"):
        return Path.home() / ".cache" / "access-sync" / "idempotency"
    return Path(out) / "provisioning" / ".idempotency"


def print_outcome(recorded: Recorded) -> None:
    outcome = recorded.outcome
    print(f"{outcome.request_id:<28} {outcome.action or '-':<16} {outcome.status:<13} {outcome.message}")
    print(f"{'':<28} → {recorded.location}")


def provisioning_service(out: str, provisioners: dict[str, Provisioner], table: str | None) -> ProvisioningService:
    """The service an operator's run uses: outcomes under DEST, idempotency in DynamoDB or a local folder."""
    # Outside Lambda there is no deadline to register; Powertools then keeps an in-progress record for its
    # default window, which is what an operator's run needs, so its warning about it is only noise.
    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    return ProvisioningService(
        lambda connector: provisioners[connector],
        CONNECTORS,
        OutcomeRecorder(open_blob_store(out)),
        persistence_layer(table, None if table else _idempotency_folder(out)),
    )


def run_provision_command(args: argparse.Namespace) -> int:
    requests = read_requests(args.file)
    table = os.environ.get("IDEMPOTENCY_TABLE")
    provisioners = provisioner_factory(args, _connectors(requests), table)
    service = provisioning_service(args.out, provisioners, table)
    not_done = 0
    try:
        for request in requests:
            recorded = service.handle(json.dumps(request))
            not_done += recorded.outcome.status in NOT_DONE
            print_outcome(recorded)
    finally:
        for provisioner in provisioners.values():
            provisioner.close()
    return 1 if not_done else 0
