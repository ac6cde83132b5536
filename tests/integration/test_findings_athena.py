"""The findings table and latest_findings view of template.yaml and the DuckDB query of docs/findings.md, run
for real in DuckDB over findings runs the product wrote (the view's Athena SQL transpiled by sqlglot)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from access_sync.findings.files import latest_pointer, read_lines
from access_sync.stores.blob import LocalBlobStore
from tests.athena import duckdb_over, rows
from tests.findings_support import dest, org, org_guru, org_gusto, sync, urls, write_identities

__all__ = ["dest", "org", "org_guru", "org_gusto", "urls"]  # fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_runs(org: Any, urls: dict[str, str], dest: Path) -> Path:
    from access_sync.cli.main import main

    write_identities(dest, org.suggested_identities())
    sync("guru", urls, dest)
    sync("gusto", urls, dest)
    base = ["findings", "--out", str(dest), "--remediate", "remove_account", "--base-url", urls["guru"], "--max", "20"]
    assert main(base) == 0
    sync("guru", urls, dest)  # the second run: the leavers' findings resolved
    return dest


def test_latest_findings_is_the_newest_run_with_the_columns_it_declares(two_runs: Path) -> None:
    store = LocalBlobStore(two_runs)
    pointer = latest_pointer(store)
    assert pointer is not None
    expected = sorted((f["id"], f["status"]) for f in read_lines(store, pointer.path))
    connection = duckdb_over(two_runs)
    latest = rows(connection, "SELECT * FROM latest_findings")
    assert sorted((row["id"], row["status"]) for row in latest) == expected
    assert {row["run_id"] for row in latest} == {pointer.run_id}
    assert any(row["status"] == "resolved" for row in latest) and any(row["status"] == "open" for row in latest)
    leaver = next(row for row in latest if row["kind"] == "leaver_with_access")
    assert leaver["person"]["status"] == "left" and leaver["subject"]["connector"] == "guru"
    assert connection.execute("SELECT count(DISTINCT run_id) FROM findings").fetchone() == (2,)


def test_the_documented_duckdb_query_lists_the_open_findings_of_the_newest_run(two_runs: Path) -> None:
    doc = (REPO_ROOT / "docs" / "findings.md").read_text()
    query = re.search(r'duckdb -c "(select kind, subject\.email.*?)"\n', doc, re.S)
    assert query, "docs/findings.md no longer has the DuckDB query"
    sql = query.group(1).replace("access-sync-data", str(two_runs))
    found = duckdb.connect().execute(sql).fetchall()
    store = LocalBlobStore(two_runs)
    pointer = latest_pointer(store)
    assert pointer is not None
    open_now = [f for f in read_lines(store, pointer.path) if f["status"] == "open"]
    assert sorted(row[3] for row in found) == sorted(f["message"] for f in open_now)
