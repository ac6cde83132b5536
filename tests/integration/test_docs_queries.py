"""The queries the README and docs/snapshot-format.md show, run as written (DEST pointed at a folder the sync
engine wrote): DuckDB over the latest snapshot and over all of them, and pyarrow's dataset reading one kind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.athena import rows
from tests.sample_dest import write_sample_dest

REPO = Path(__file__).resolve().parents[2]
DOCS = (REPO / "README.md", REPO / "docs" / "snapshot-format.md")


def blocks(language: str) -> list[tuple[Path, str]]:
    return [
        (doc, block)
        for doc in DOCS
        for block in re.findall(rf"```{language}\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)
    ]


def duckdb_blocks() -> dict[str, str]:
    """Title (after `-- DuckDB: `) → SQL, from every document."""
    found: dict[str, str] = {}
    for _, block in blocks("sql"):
        if block.startswith("-- DuckDB: "):
            title = block.splitlines()[0].removeprefix("-- DuckDB: ")
            assert title not in found or found[title] == block, f"two different DuckDB queries titled {title!r}"
            found[title] = block
    return found


@pytest.fixture(scope="module")
def dest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_dest(tmp_path_factory.mktemp("dest"))


def run(sql: str, dest: Path) -> list[dict[str, Any]]:
    return rows(duckdb.connect(), sql.replace("access-sync-data", str(dest)))


EXPECTED: dict[str, Any] = {
    "who holds what in the latest Guru snapshot": [
        {"account": "Ann", "email": "ann@x.com", "status": "enabled", "entitlement": "Engineering member"},
        {"account": "Bob", "email": "bob@x.com", "status": "disabled", "entitlement": "Engineering member"},
        {"account": "Cat", "email": "cat@x.com", "status": "enabled", "entitlement": "Sales member"},
    ],
    "what changed in the last Guru sync": [
        {"kind": "grant", "change": "added", "id": "group:g2:member:user:cat@x.com", "fields": []}
    ],
    "disabled accounts that still hold access, latest Guru snapshot": [
        {"account": "Bob", "email": "bob@x.com", "entitlement": "Engineering member"}
    ],
}


def test_the_docs_show_every_duckdb_query_this_test_checks() -> None:
    assert set(duckdb_blocks()) == {*EXPECTED, "grants per snapshot, every snapshot"}


@pytest.mark.parametrize("title", sorted(EXPECTED))
def test_a_documented_duckdb_query_of_the_latest_snapshot_gives_its_rows(dest: Path, title: str) -> None:
    assert run(duckdb_blocks()[title], dest) == EXPECTED[title]


def test_the_documented_duckdb_query_over_every_snapshot_reads_one_kind_with_its_partitions(dest: Path) -> None:
    found = run(duckdb_blocks()["grants per snapshot, every snapshot"], dest)
    assert [(r["connector"], r["grants"]) for r in found] == [("guru", 2), ("guru", 3), ("gusto", 3)]
    assert all(re.fullmatch(r"\d{8}T\d{9}Z-[0-9a-f]{8}", r["sync_id"]) for r in found)


def documented_pyarrow(dest: Path) -> dict[str, Any]:
    ((_, code),) = [(doc, block) for doc, block in blocks("python") if "pyarrow.dataset" in block]
    scope: dict[str, Any] = {}
    exec(compile(code.replace("access-sync-data", str(dest)), "snapshot-format.md", "exec"), scope)
    return scope


def test_the_documented_pyarrow_dataset_reads_one_kind_across_snapshots(dest: Path) -> None:
    scope = documented_pyarrow(dest)
    assert scope["guru"].num_rows == 5 and scope["latest"].num_rows == 3
    assert {"connector", "sync_date", "sync_id", "id", "entitlement", "principal"} <= set(scope["latest"].column_names)


@pytest.mark.parametrize("kind", ["resources", "entitlements", "grants", "changes"])
def test_any_kind_reads_across_every_snapshot_in_duckdb_and_pyarrow_without_the_manifests(
    dest: Path, kind: str
) -> None:
    import pyarrow.dataset as ds

    files = documented_pyarrow(dest)["parts"](str(dest), kind)
    table = ds.dataset(files, format="json", partitioning="hive", partition_base_dir=f"{dest}/snapshots").to_table()
    sql = f"SELECT * FROM read_json('{dest}/snapshots/*/*/*/{kind}/*.jsonl.gz', hive_partitioning = true)"
    in_duckdb = duckdb.connect().execute(sql).fetchall()
    expected = {"resources": 15, "entitlements": 5, "grants": 8, "changes": 1}[kind]
    assert table.num_rows == len(in_duckdb) == expected
    assert {"connector", "sync_date", "sync_id"} <= set(table.column_names)
