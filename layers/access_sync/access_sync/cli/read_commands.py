"""`access-sync resources|entitlements|grants|diff guru|gusto`: reading snapshots back, from a folder or S3.

Every listing streams: records are filtered and printed one at a time (grants are joined with their accounts
through an external sort), so 600,000 grants never sit in memory. `-o json` prints records as stored, one JSON
line each; `-o csv` prints readable columns with a header; `-o text` prints the same columns aligned.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from access_sync.errors import ConfigurationError
from access_sync.models import ids
from access_sync.snapshot.changes import diff
from access_sync.snapshot.reader import SnapshotReader
from access_sync.snapshot.views import CHANGE_COLUMNS, GRANT_COLUMNS, change_row, change_text, grant_rows
from access_sync.stores.blob import BlobStore
from access_sync.wiring.connections import open_blob_store

Row = dict[str, Any]

RESOURCE_COLUMNS = ("resource_type", "id", "display_name", "status", "email", "login", "parent_type", "parent_id")
ENTITLEMENT_COLUMNS = ("id", "display_name", "purpose", "slug", "resource_type", "resource_id")
# Columns `-o text` shows, with their widths: what a person scans; csv and json carry everything.
TEXT_COLUMNS = {
    "resources": (("resource_type", 13), ("id", 38), ("display_name", 28), ("status", 8), ("email", 36)),
    "entitlements": (("id", 52), ("display_name", 32), ("purpose", 10)),
    "grants": (("account_name", 24), ("account_email", 34), ("account_status", 14), ("entitlement_name", 30),
               ("resource_name", 24)),
}  # fmt: skip


def open_snapshot(store: BlobStore, connector: str, sync_id: str | None) -> SnapshotReader:
    """The snapshot named by `sync_id`, else the latest; exit 2 with one line when there is none."""
    if sync_id is None:
        latest = SnapshotReader.latest(store, connector)
        if latest is None:
            raise ConfigurationError(
                f"{store.describe()} holds no complete {connector} snapshot; run `access-sync sync {connector}` first."
            )
        return latest
    found = SnapshotReader.find(store, connector, sync_id)
    if found is None:
        raise ConfigurationError(
            f"{store.describe()} holds no complete {connector} snapshot with the sync id {sync_id}."
        )
    return found


# --- rows ----------------------------------------------------------------------------------------------------


def resource_row(record: dict[str, Any]) -> Row:
    user, parent = record.get("user") or {}, record.get("parent") or {}
    return {
        "resource_type": record["resource_type"],
        "id": record["id"],
        "display_name": record.get("display_name"),
        "status": record.get("status"),
        "email": user.get("email"),
        "login": user.get("login"),
        "parent_type": parent.get("resource_type"),
        "parent_id": parent.get("id"),
    }


def entitlement_row(record: dict[str, Any]) -> Row:
    resource = record.get("resource") or {}
    return {
        "id": record["id"],
        "display_name": record.get("display_name"),
        "purpose": record.get("purpose"),
        "slug": record.get("slug"),
        "resource_type": resource.get("resource_type"),
        "resource_id": resource.get("id"),
    }


def _matches(value: Any, wanted: str | None) -> bool:
    return wanted is None or value == wanted


def listed(args: argparse.Namespace, reader: SnapshotReader) -> Iterator[tuple[Row, bytes]]:
    """(readable row, stored line) of every record of `args.command` that passes the filters."""
    if args.command == "resources":
        for line in reader.lines("resources"):
            row = resource_row(json.loads(line))
            if _matches(row["resource_type"], args.type) and _matches(row["status"], args.status):
                yield row, line
    elif args.command == "entitlements":
        for line in reader.lines("entitlements"):
            row = entitlement_row(json.loads(line))
            if _matches(row["resource_type"], args.type):
                yield row, line
    else:
        for row, line in grant_rows(reader):
            principal = ids.resource_key(row["account_type"], row["account_id"])
            if (
                _matches(row["entitlement_id"], args.entitlement)
                and args.principal in (None, row["account_id"], principal)
                and _matches(row["account_status"], args.status)
                and _matches(row["account_type"], args.type)
            ):
                yield row, line


# --- output --------------------------------------------------------------------------------------------------


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value)
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def write_rows(
    out: TextIO,
    output: str,
    columns: Sequence[str],
    text_columns: Sequence[tuple[str, int]],
    rows: Iterable[tuple[Row, bytes]],
) -> int:
    count = 0
    if output == "csv":
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
    elif output == "text":
        print("  ".join(_cell(name, width) for name, width in text_columns).rstrip(), file=out)
    for row, line in rows:
        count += 1
        if output == "json":
            out.write(line.decode() + "\n")
        elif output == "csv":
            writer.writerow(row)
        else:
            print("  ".join(_cell(row.get(name), width) for name, width in text_columns).rstrip(), file=out)
    return count


@contextmanager
def _quiet_broken_pipe() -> Iterator[None]:
    """`access-sync grants guru | head` ends the listing early: that is not an error."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def run_list_command(args: argparse.Namespace) -> int:
    reader = open_snapshot(open_blob_store(args.out), args.connector, args.sync_id)
    columns = {"resources": RESOURCE_COLUMNS, "entitlements": ENTITLEMENT_COLUMNS, "grants": GRANT_COLUMNS}
    with _quiet_broken_pipe():
        count = write_rows(
            sys.stdout, args.output, columns[args.command], TEXT_COLUMNS[args.command], listed(args, reader)
        )
        if args.output == "text":
            manifest = reader.manifest
            print(f"{count:,} {args.command} in {manifest.connector} snapshot {manifest.sync_id}", file=sys.stderr)
    return 0


# --- diff ----------------------------------------------------------------------------------------------------


def changes_between(before: SnapshotReader, after: SnapshotReader) -> Iterator[bytes]:
    """The stored changes when `before` is `after`'s baseline, else computed the same way, in bounded memory."""
    baseline = after.manifest.changes.baseline_sync_id if after.manifest.changes else None
    if baseline == before.manifest.sync_id:
        yield from after.lines("changes")
        return
    for change in diff(before.lines, after.lines):
        yield change.line.rstrip(b"\n")


def run_diff_command(args: argparse.Namespace) -> int:
    store = open_blob_store(args.out)
    after = open_snapshot(store, args.connector, args.to_sync_id)
    before = after.baseline() if args.from_sync_id is None else open_snapshot(store, args.connector, args.from_sync_id)
    if before is None:
        print(f"{args.connector} snapshot {after.manifest.sync_id} has no baseline: it is the first.", file=sys.stderr)
        return 0
    lines = changes_between(before, after)
    with _quiet_broken_pipe():
        if args.output == "json":
            for line in lines:
                sys.stdout.write(line.decode() + "\n")
        elif args.output == "csv":
            rows = ((change_row(json.loads(line)), line) for line in lines)
            write_rows(sys.stdout, "csv", CHANGE_COLUMNS, (), rows)
        else:
            count = 0
            for line in lines:
                count += 1
                print(change_text(change_row(json.loads(line))))
            print(
                f"{count:,} changes from {before.manifest.sync_id} to {after.manifest.sync_id} ({args.connector})",
                file=sys.stderr,
            )
    return 0
