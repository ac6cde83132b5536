"""Where a snapshot's pieces live under DEST (docs/snapshot-format.md). Keys only, no I/O."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_sync_id(now: datetime) -> str:
    """Sorts by time: `20261122T131500Z-3f9a1c2b`."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def connector_prefix(connector: str) -> str:
    return f"snapshots/connector={connector}"


def snapshot_folder(connector: str, sync_id: str) -> str:
    day = datetime.strptime(sync_id[:8], "%Y%m%d")
    return f"{connector_prefix(connector)}/sync_date={day:%Y-%m-%d}/sync_id={sync_id}"


def latest_key(connector: str) -> str:
    return f"{connector_prefix(connector)}/latest.json"


def checkpoint_key(connector: str, sync_id: str) -> str:
    # A leading underscore keeps Athena/Glue from reading checkpoints as data.
    return f"{connector_prefix(connector)}/_checkpoints/{sync_id}.json"


def segment_key(folder: str, file_name: str, index: int) -> str:
    return f"{folder}/_segments/{file_name}.{index:04d}"


def iso_now(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
