"""Readable rows from one snapshot, as the reader commands print them: each grant joined with its account,
entitlement and resource (the columns of the access_review view).

Entitlements are few (one per group or company) and are held in memory; accounts and grants are not: both are
sorted by account with the external sort and joined as two sorted streams, so memory stays bounded whatever
the number of grants, and the rows come out grouped by account.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from access_sync.models import ids
from access_sync.snapshot.reader import SnapshotReader
from access_sync.snapshot.sorting import RUN_BYTES, ExternalSort, Keyed, leading_strings, resource_sort_key

GRANT_COLUMNS = (
    "grant_id",
    "account_type",
    "account_id",
    "account_name",
    "account_email",
    "account_status",
    "entitlement_id",
    "entitlement_name",
    "entitlement_purpose",
    "resource_type",
    "resource_id",
    "resource_name",
)

CHANGE_COLUMNS = ("kind", "change", "id", "display_name", "fields")

# Sorts below every character an id has, so that all grants of one account stay together, in grant id order.
_SEPARATOR = "\x00"


def _ref_key(ref: dict[str, Any]) -> str:
    return ids.resource_key(ref["resource_type"], ref["id"])


def _grant_sort_key(line: bytes) -> str:
    fast = leading_strings(line, '{"id":"', ',"entitlement":"', ',"principal":{"resource_type":"', ',"id":"')
    if fast is not None:
        grant_id, _, principal_type, principal_id = fast
        return f"{ids.resource_key(principal_type, principal_id)}{_SEPARATOR}{grant_id}"
    grant = json.loads(line)
    return f"{_ref_key(grant['principal'])}{_SEPARATOR}{grant['id']}"


def grant_rows(reader: SnapshotReader, *, run_bytes: int = RUN_BYTES) -> Iterator[tuple[dict[str, Any], bytes]]:
    """(row with GRANT_COLUMNS, the grant's stored line) for every grant, grouped by account."""
    entitlements = {e["id"]: e for e in reader.records("entitlements")}
    wanted = {_ref_key(e["resource"]) for e in entitlements.values()}
    resource_names = {_ref_key(r): r["display_name"] for r in reader.records("resources") if _ref_key(r) in wanted}
    with tempfile.TemporaryDirectory("-grants") as workdir:
        sorter = ExternalSort(Path(workdir), run_bytes)
        grants = sorter.sorted(reader.lines("grants"), _grant_sort_key)
        accounts = sorter.sorted(reader.lines("resources"), resource_sort_key)
        account: Keyed | None = next(accounts, None)
        parsed: tuple[str, dict[str, Any]] | None = None  # the current account, parsed once for all its grants
        for sort_key, line in grants:
            principal_key = sort_key.split(_SEPARATOR, 1)[0]
            while account is not None and account[0] < principal_key:
                account = next(accounts, None)
            found = None
            if account is not None and account[0] == principal_key:
                if parsed is None or parsed[0] != principal_key:
                    parsed = (principal_key, json.loads(account[1]))
                found = parsed[1]
            grant = json.loads(line)
            yield _row(grant, found, entitlements.get(grant["entitlement"]), resource_names), line


def _row(
    grant: dict[str, Any],
    account: dict[str, Any] | None,
    entitlement: dict[str, Any] | None,
    resource_names: dict[str, str],
) -> dict[str, Any]:
    resource = (entitlement or {}).get("resource") or {}
    return {
        "grant_id": grant["id"],
        "account_type": grant["principal"]["resource_type"],
        "account_id": grant["principal"]["id"],
        "account_name": (account or {}).get("display_name"),
        "account_email": ((account or {}).get("user") or {}).get("email"),
        "account_status": (account or {}).get("status"),
        "entitlement_id": grant["entitlement"],
        "entitlement_name": (entitlement or {}).get("display_name"),
        "entitlement_purpose": (entitlement or {}).get("purpose"),
        "resource_type": resource.get("resource_type"),
        "resource_id": resource.get("id"),
        "resource_name": resource_names.get(_ref_key(resource)) if resource else None,
    }


def change_row(record: dict[str, Any]) -> dict[str, Any]:
    """A change record as CHANGE_COLUMNS: the name of what changed, and which fields did."""
    shown = record.get("after") or record.get("before") or {}
    return {
        "kind": record["kind"],
        "change": record["change"],
        "id": record["id"],
        "display_name": shown.get("display_name"),
        "fields": ";".join(record.get("fields") or []),
    }


_SIGN = {"added": "+", "removed": "-", "modified": "~"}


def change_text(row: dict[str, Any]) -> str:
    """`+ grant group:g1:member:user:ann@x.com`, `~ resource user:bob@x.com (Bob): status`."""
    name = f" ({row['display_name']})" if row["display_name"] else ""
    fields = f": {row['fields'].replace(';', ', ')}" if row["fields"] else ""
    return f"{_SIGN[row['change']]} {row['kind']} {row['id']}{name}{fields}"
