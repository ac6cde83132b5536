"""The findings table and latest_findings view (infra/findings-catalog.yaml) and the DuckDB query of
docs/findings.md, run for real in DuckDB over findings runs the product wrote (the view's Athena SQL
transpiled by sqlglot)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from cfnlint.decode import decode_str

from access_sync.findings.files import latest_pointer, read_lines
from access_sync.stores.blob import LocalBlobStore
from tests.findings_support import dest, org, org_guru, org_gusto, sync, urls, write_identities

__all__ = ["dest", "org", "org_guru", "org_gusto", "urls"]  # fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG = REPO_ROOT / "infra" / "findings-catalog.yaml"
NAMES = {"GlueDatabase": "access_sync", "GlueDatabaseName": "access_sync", "SnapshotBucket": "bucket"}


def _resolve(value: Any) -> Any:
    """The intrinsic functions the fragment uses: Ref, Sub, Join, Base64."""
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return NAMES.get(argument, argument)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            scope = {**NAMES, **{key: _resolve(item) for key, item in variables.items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda match: scope[match.group(1)], text)
        if function == "Fn::Join":
            return argument[0].join(_resolve(argument[1]))
        if function == "Fn::Base64":
            return base64.b64encode(str(_resolve(argument)).encode()).decode()
    return {key: _resolve(item) for key, item in value.items()}


def catalog() -> dict[str, dict[str, Any]]:
    decoded, errors = decode_str(CATALOG.read_text())
    assert not errors, errors
    resources = json.loads(json.dumps(decoded))["Resources"]
    return {(t := _resolve(r["Properties"]["TableInput"]))["Name"]: t for r in resources.values()}


def duckdb_type(hive: str) -> str:
    if hive in {"string", "int"}:
        return {"string": "VARCHAR", "int": "INTEGER"}[hive]
    if hive.startswith("array<"):
        return f"{duckdb_type(hive[6:-1])}[]"
    fields = [field.split(":", 1) for field in re.split(r",(?![^<]*>)", hive[7:-1])]
    return "STRUCT(" + ", ".join(f'"{name}" {duckdb_type(kind)}' for name, kind in fields) + ")"


def over(dest_path: Path) -> duckdb.DuckDBPyConnection:
    tables = catalog()
    table = tables["findings"]
    assert table["StorageDescriptor"]["Location"] == "s3://bucket/findings/"
    columns = {c["Name"]: duckdb_type(c["Type"]) for c in table["StorageDescriptor"]["Columns"]}
    keys = {key["Name"]: "VARCHAR" for key in table["PartitionKeys"]}
    connection = duckdb.connect()
    connection.execute(
        f"CREATE VIEW findings AS SELECT * FROM read_json('{dest_path}/findings/*/*/findings/*.jsonl.gz', "
        f"format = 'newline_delimited', hive_partitioning = true, hive_types = {keys}, columns = {columns})"
    )
    view = tables["latest_findings"]
    text = view["ViewOriginalText"]
    definition = json.loads(base64.b64decode(text[len("/* Presto View: ") : -len(" */")]))
    sql = sqlglot.transpile(definition["originalSql"], read="trino", write="duckdb")[0]
    connection.execute(f"CREATE VIEW latest_findings AS {sql}")
    declared = [column["name"] for column in definition["columns"]]
    assert declared == [column["Name"] for column in view["StorageDescriptor"]["Columns"]]
    return connection


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
    connection = over(two_runs)
    cursor = connection.execute("SELECT * FROM latest_findings")
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    assert sorted((row["id"], row["status"]) for row in rows) == expected
    assert {row["run_id"] for row in rows} == {pointer.run_id}
    assert any(row["status"] == "resolved" for row in rows) and any(row["status"] == "open" for row in rows)
    leaver = next(row for row in rows if row["kind"] == "leaver_with_access")
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
