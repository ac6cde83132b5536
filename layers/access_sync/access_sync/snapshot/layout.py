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


# Work files of unfinished syncs live beside the snapshot folders, never inside one, under names starting with
# `_` (which Athena and Glue skip); the bucket's lifecycle rules expire any that a crash leaves behind.
def checkpoints_prefix(connector: str) -> str:
    return f"{connector_prefix(connector)}/_checkpoints/"


def checkpoint_key(connector: str, sync_id: str) -> str:
    return f"{checkpoints_prefix(connector)}{sync_id}.json"


def segments_prefix(connector: str, sync_id: str | None = None) -> str:
    return f"{connector_prefix(connector)}/_segments/{sync_id + '/' if sync_id else ''}"


def segment_key(prefix: str, file_name: str, index: int) -> str:
    return f"{prefix}{file_name}.{index:04d}"


def sync_started(sync_id: str) -> datetime | None:
    """The start time a sync id begins with, or None when the text is not a sync id."""
    try:
        return datetime.strptime(sync_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def iso_now(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
