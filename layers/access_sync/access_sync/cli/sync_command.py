"""`access-sync sync guru|gusto`: one snapshot into a folder or S3, with progress on a terminal."""

from __future__ import annotations

import argparse
import sys

from access_sync.cli.findings_command import after_sync
from access_sync.models.sync_events import SyncEvent, SyncResult
from access_sync.sync.engine import ProgressCallback
from access_sync.sync.service import sync_and_report
from access_sync.wiring.connections import local_connection, open_blob_store, open_secret_store
from access_sync.wiring.registry import connector_spec


def terminal_progress(label: str) -> ProgressCallback | None:
    """A one-line counter on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(counts: dict[str, int]) -> None:
        text = ", ".join(f"{value:,} {name}" for name, value in counts.items())
        print(f"\r{label}: {text}", end="", file=sys.stderr, flush=True)

    return show


def describe_result(result: SyncResult) -> str:
    counts = result.counts
    summary = ", ".join(f"{n:,} {kind}" for kind, n in (counts.resources.items() if counts else []))
    grants = f", {counts.grants:,} grants" if counts else ""
    return (
        f"{result.connector} sync {result.sync_id} complete: {summary}{grants} "
        f"({result.requests:,} requests, {result.duration_seconds:.1f} s)\nsnapshot: {result.location}"
    )


def run_sync_command(args: argparse.Namespace) -> int:
    spec = connector_spec(args.connector)
    connection = local_connection(
        spec, open_secret_store(args.credentials, args.secret_id), args.base_url, concurrency=args.concurrency
    )
    syncer = spec.syncer(connection)
    progress = terminal_progress(f"syncing {args.connector}")
    store = open_blob_store(args.out)
    result = sync_and_report(syncer, store, SyncEvent(connector=args.connector, trigger="cli"), progress=progress)
    if progress:
        print(file=sys.stderr)
    print(describe_result(result))
    print(after_sync(store))
    return 0
