"""Where a snapshot's pieces live under DEST (docs/snapshot-format.md). Keys only, no I/O."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

# Format version 1 ids (before milliseconds) still name old snapshots and work files.
_SYNC_ID = re.compile(r"^(\d{8}T\d{6})(\d{3})?Z-[0-9a-f]{8}$")


def new_sync_id(now: datetime) -> str:
    """UTC start to the millisecond, then 8 random hex digits: `20261201T081425123Z-9b54ddbd`; sorts by time."""
    utc = now.astimezone(UTC)
    return f"{utc:%Y%m%dT%H%M%S}{utc.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def sync_started(sync_id: str) -> datetime | None:
    """The start time a sync id begins with, or None when the text is not a sync id."""
    match = _SYNC_ID.match(sync_id)
    if match is None:
        return None
    seconds, millis = match.groups()
    try:
        started = datetime.strptime(seconds, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return started.replace(microsecond=int(millis or 0) * 1000)


def connector_prefix(connector: str) -> str:
    return f"snapshots/connector={connector}"


def sync_date(sync_id: str) -> str:
    """The UTC date a sync started on, `YYYY-MM-DD`: the snapshot's `sync_date` partition."""
    return f"{datetime.strptime(sync_id[:8], '%Y%m%d'):%Y-%m-%d}"


def snapshot_folder(connector: str, sync_id: str) -> str:
    return f"{connector_prefix(connector)}/sync_date={sync_date(sync_id)}/sync_id={sync_id}"


def part_name(kind: str, index: int) -> str:
    """A part's key relative to the snapshot folder, as the manifest lists it."""
    return f"{kind}/part-{index:05d}.jsonl.gz"


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


def segment_key(prefix: str, kind: str, index: int) -> str:
    """Segment `index` of a kind becomes part `index` of the snapshot: the same name under the work prefix."""
    return f"{prefix}{part_name(kind, index)}"


def iso_now(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_millis(now: datetime) -> str:
    """`2026-12-01T08:14:25.123Z`: the instant a sync id names, to the same precision."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
