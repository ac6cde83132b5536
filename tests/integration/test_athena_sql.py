"""The Athena SQL of template.yaml, run for real: every view and saved query, transpiled from Trino to DuckDB
by sqlglot, over snapshots the sync engine wrote (tests/sample_dest.py), with the tables' columns exactly as
the template declares them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import LocalBlobStore
from tests.athena import duckdb_over, duckdb_type, glue_tables, named_queries, rows, to_duckdb, view_definition
from tests.sample_dest import write_sample_dest


@pytest.fixture(scope="module")
def dest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_dest(tmp_path_factory.mktemp("dest"))


@pytest.fixture(scope="module")
def db(dest: Path) -> duckdb.DuckDBPyConnection:
    return duckdb_over(dest)


def latest(dest: Path, connector: str) -> str:
    reader = SnapshotReader.latest(LocalBlobStore(dest), connector)
    assert reader is not None
    return reader.manifest.sync_id


def query(name: str) -> str:
    return to_duckdb(named_queries()[name])


def test_every_record_kind_has_exactly_the_columns_its_table_declares(dest: Path) -> None:
    for connector in ("guru", "gusto"):
        reader = SnapshotReader.latest(LocalBlobStore(dest), connector)
        assert reader is not None
        for kind in ("resources", "entitlements", "grants", "changes"):
            declared = [c["Name"] for c in glue_tables()[kind]["StorageDescriptor"]["Columns"]]
            for record in reader.records(kind):
                assert set(record) <= set(declared), (kind, set(record) - set(declared))
                assert all(record.get(name) is not None for name in ("id",)), record


def trino_as_hive(trino: str) -> str:
    """varchar, integer, array(varchar), row(a varchar,b varchar) spelled as Glue's Hive types."""
    for trino_word, hive_word in (
        ("varchar", "string"),
        ("integer", "int"),
        ("row(", "struct<"),
        ("array(", "array<"),
        (")", ">"),
        (" ", ":"),
    ):
        trino = trino.replace(trino_word, hive_word)
    return trino


def normal(duck: str) -> str:
    """DuckDB quotes struct field names only where it must; compare without quotes."""
    return duck.replace('"', "")


@pytest.mark.parametrize("view", [n for n, t in glue_tables().items() if t["TableType"] == "VIRTUAL_VIEW"])
def test_each_view_returns_exactly_the_columns_it_declares_so_athena_never_finds_it_stale(
    db: duckdb.DuckDBPyConnection, view: str
) -> None:
    table = glue_tables()[view]
    declared = view_definition(table)["columns"]
    glue_columns = [(c["Name"], duckdb_type(c["Type"])) for c in table["StorageDescriptor"]["Columns"]]
    assert [(c["name"], trino_as_hive(c["type"])) for c in declared] == [
        (c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]
    ]
    described = [(name, normal(kind)) for name, kind, *_ in db.execute(f"DESCRIBE {view}").fetchall()]
    assert described == [(name, normal(kind)) for name, kind in glue_columns]


def test_latest_views_show_only_the_newest_snapshot_of_each_connector(
    db: duckdb.DuckDBPyConnection, dest: Path
) -> None:
    assert rows(db, "SELECT * FROM latest_syncs ORDER BY connector") == [
        {"connector": "guru", "sync_id": latest(dest, "guru")},
        {"connector": "gusto", "sync_id": latest(dest, "gusto")},
    ]
    grants = rows(db, "SELECT connector, sync_id, count(*) AS n FROM latest_grants GROUP BY ALL ORDER BY connector")
    assert grants == [
        {"connector": "guru", "sync_id": latest(dest, "guru"), "n": 3},
        {"connector": "gusto", "sync_id": latest(dest, "gusto"), "n": 3},
    ]
    assert rows(db, "SELECT count(*) AS n FROM grants WHERE connector = 'guru'") == [{"n": 5}]  # both snapshots
    for view in ("latest_resources", "latest_entitlements", "latest_changes"):
        syncs = {r["sync_id"] for r in rows(db, f"SELECT DISTINCT sync_id FROM {view}")}
        assert syncs <= {latest(dest, "guru"), latest(dest, "gusto")}, view


def test_latest_changes_shows_exactly_what_the_last_sync_changed(db: duckdb.DuckDBPyConnection, dest: Path) -> None:
    assert rows(db, "SELECT connector, kind, change, id, fields, before FROM latest_changes") == [
        {
            "connector": "guru",
            "kind": "grant",
            "change": "added",
            "id": "group:g2:member:user:cat@x.com",
            "fields": [],
            "before": None,
        }
    ]


def test_access_review_joins_each_grant_with_its_account_entitlement_and_resource(
    db: duckdb.DuckDBPyConnection,
) -> None:
    found = rows(db, "SELECT * EXCLUDE (sync_id) FROM access_review WHERE connector = 'guru' ORDER BY grant_id")
    assert found[0] == {
        "connector": "guru",
        "grant_id": "group:g1:member:user:ann@x.com",
        "account_type": "user",
        "account_id": "ann@x.com",
        "account_name": "Ann",
        "account_email": "ann@x.com",
        "account_status": "enabled",
        "entitlement_id": "group:g1:member",
        "entitlement_name": "Engineering member",
        "entitlement_purpose": "assignment",
        "resource_type": "group",
        "resource_id": "g1",
        "resource_name": "Engineering",
    }
    assert [(r["account_name"], r["resource_name"]) for r in found] == [
        ("Ann", "Engineering"),
        ("Bob", "Engineering"),
        ("Cat", "Sales"),
    ]


def test_saved_query_disabled_accounts_that_still_hold_access(db: duckdb.DuckDBPyConnection) -> None:
    found = rows(db, query("Disabled accounts that still hold access"))
    assert [(r["connector"], r["account_id"], r["account_name"], r["entitlement_name"]) for r in found] == [
        ("guru", "bob@x.com", "Bob", "Engineering member"),
        ("gusto", "e2", "Cat", "Acme admin"),
    ]


def test_saved_query_gusto_admins_with_who_they_are_and_their_status(db: duckdb.DuckDBPyConnection) -> None:
    found = rows(db, query("Gusto admins, who they are and their status"))
    assert [
        (r["account_name"], r["account_email"], r["account_type"], r["account_status"], r["termination_date"])
        for r in found
    ] == [
        ("Ann", "ann@x.com", "employee", "enabled", None),
        ("Cat", "cat@x.com", "employee", "disabled", "2026-11-01"),
        ("Zed", "zed@x.com", "user", "enabled", None),
    ]
    assert {r["company"] for r in found} == {"Acme"}


def test_saved_query_what_changed_in_the_last_sync(db: duckdb.DuckDBPyConnection, dest: Path) -> None:
    assert rows(db, query("What changed in the last sync")) == [
        {
            "connector": "guru",
            "sync_id": latest(dest, "guru"),
            "kind": "grant",
            "change": "added",
            "id": "group:g2:member:user:cat@x.com",
            "display_name": None,
            "fields": "",
        }
    ]


def test_saved_query_leavers_who_still_have_access(db: duckdb.DuckDBPyConnection) -> None:
    found = rows(db, query("Leavers who still have access"))
    assert [
        (
            r["person_name"],
            r["person_id"],
            r["termination_date"],
            r["connector"],
            r["account_id"],
            r["entitlement_name"],
        )
        for r in found
    ] == [
        ("Cat", "e2", "2026-11-01", "guru", "cat@x.com", "Sales member"),
        ("Cat", "e2", "2026-11-01", "gusto", "e2", "Acme admin"),
    ]
