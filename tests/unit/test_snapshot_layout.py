"""Sync ids and where a snapshot's pieces live."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from access_sync.snapshot.layout import new_sync_id, part_name, snapshot_folder, sync_started


def test_a_sync_id_names_its_start_to_the_millisecond() -> None:
    started = datetime(2026, 12, 1, 8, 14, 25, 123456, tzinfo=UTC)
    sync_id = new_sync_id(started)
    assert re.fullmatch(r"20261201T081425123Z-[0-9a-f]{8}", sync_id)
    assert sync_started(sync_id) == started.replace(microsecond=123000)


def test_two_syncs_started_in_the_same_second_sort_by_start() -> None:
    first = datetime(2026, 12, 1, 8, 14, 25, 900000, tzinfo=UTC)
    ids = [new_sync_id(first + timedelta(milliseconds=ms)) for ms in (0, 1, 99)]
    assert sorted(ids) == ids and ids[0][:15] == ids[2][:15]


def test_sync_ids_of_format_1_still_parse_and_anything_else_does_not() -> None:
    assert sync_started("20261122T120000Z-0000abcd") == datetime(2026, 11, 22, 12, tzinfo=UTC)
    for text in ("20261122T120000Z", "20261322T120000123Z-0000abcd", "x20261122T120000123Z-0000abcd", ""):
        assert sync_started(text) is None, text


def test_a_snapshot_folder_is_hive_partitioned_and_holds_a_sub_folder_per_kind() -> None:
    sync_id = "20261201T081425123Z-9b54ddbd"
    assert snapshot_folder("guru", sync_id) == f"snapshots/connector=guru/sync_date=2026-12-01/sync_id={sync_id}"
    assert part_name("grants", 3) == "grants/part-00003.jsonl.gz"
