"""`access-sync sync guru|gusto`: one snapshot into a folder or S3, with progress on a terminal.

The destination is checked first, before any credential is read or any API called. One sync per connector
and destination at a time: a lock file beside the snapshots of a local folder, or the stacks' own sync lease
when the destination is S3 and IDEMPOTENCY_TABLE names the stack's table (see wiring/connections.py).
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from access_sync.cli.findings_command import after_sync
from access_sync.cli.output import counted, print_json, require_output
from access_sync.cli.progress import TerminalProgress
from access_sync.errors import LeaseBusy
from access_sync.models.sync_events import SyncEvent, SyncResult
from access_sync.snapshot.layout import connector_prefix
from access_sync.sync.service import sync_and_report
from access_sync.wiring.connections import local_connection, local_sync_lease, open_destination, open_secret_store
from access_sync.wiring.registry import connector_spec


def describe_result(result: SyncResult) -> str:
    counts = result.counts
    parts = [counted(n, kind) for kind, n in (counts.resources.items() if counts else [])]
    if counts:
        parts.append(counted(counts.grants, "grant"))
    return (
        f"{result.connector} sync {result.sync_id} complete: {', '.join(parts)} "
        f"({counted(result.requests, 'request')}, {result.duration_seconds:.1f} s)\nsnapshot: {result.location}"
    )


def run_sync_command(args: argparse.Namespace) -> int:
    require_output(args.output, "sync", ("text", "json"))
    spec = connector_spec(args.connector)
    store = open_destination(args.out, f"{connector_prefix(spec.name)}/")
    progress = TerminalProgress.on_stderr(f"syncing {args.connector}", quiet=args.quiet)
    connection = local_connection(
        spec,
        open_secret_store(args.credentials, args.secret_id),
        args.base_url,
        concurrency=args.concurrency,
        client_options={"on_wait": progress.waiting} if progress else None,
    )
    with ExitStack() as held:
        if lease := local_sync_lease(store, spec.name):
            try:
                held.enter_context(lease.hold(wait=0))
            except LeaseBusy:
                raise LeaseBusy(
                    f"Another {spec.name} sync is writing to {store.describe()}; let it finish, then try again."
                ) from None
        result = sync_and_report(
            spec.syncer(connection),
            store,
            SyncEvent(connector=args.connector, trigger="cli"),
            progress=progress.counts if progress else None,
        )
    if progress:
        progress.done()
    findings = after_sync(store)
    if args.output == "json":
        print_json({**result.model_dump(mode="json"), "findings": findings})
    else:
        print(describe_result(result))
        print(findings)
    return 0
