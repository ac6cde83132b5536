"""The Athena part of template.yaml, read back for tests: Glue tables, views and saved queries with their
intrinsic functions resolved, and DuckDB set up to run that very SQL (transpiled from Athena's Trino dialect
by sqlglot) over a local DEST, with each table's columns exactly as the template declares them."""

from __future__ import annotations

import base64
import glob
import json
import re
from pathlib import Path
from typing import Any

import boto3
import duckdb
import sqlglot

from tests.infra.conftest import load_sam_template

DATABASE = "access_sync"
ACCOUNT = "123456789012"


def resolve(value: Any, names: dict[str, str]) -> Any:
    """Evaluates the intrinsic functions the Glue and Athena resources use (Ref, Sub, Join, Base64)."""
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return names[argument]
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            scope = {**names, **{k: resolve(v, names) for k, v in variables.items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda m: scope[m.group(1)], text)
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(resolve(items, names))
        if function == "Fn::Base64":
            return base64.b64encode(str(resolve(argument, names)).encode()).decode()
    return {key: resolve(item, names) for key, item in value.items()}


def _names(bucket: str) -> dict[str, str]:
    return {"GlueDatabase": DATABASE, "GlueDatabaseName": DATABASE, "SnapshotBucket": bucket, "AWS::AccountId": ACCOUNT}


def glue_tables(bucket: str = "bucket") -> dict[str, dict[str, Any]]:
    """Name → TableInput of every AWS::Glue::Table (tables and views), in template order."""
    resources = load_sam_template()["Resources"]
    found = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::Glue::Table":
            table = resolve(resource["Properties"]["TableInput"], _names(bucket))
            found[table["Name"]] = table
    return found


def create_glue_catalog(bucket: str) -> None:
    """The Glue database and tables (not the views) exactly as template.yaml defines them, in moto."""
    glue = boto3.client("glue")
    glue.create_database(DatabaseInput={"Name": DATABASE})
    for table in glue_tables(bucket).values():
        if table["TableType"] == "EXTERNAL_TABLE":
            glue.create_table(DatabaseName=DATABASE, TableInput=table)


def view_definition(table: dict[str, Any]) -> dict[str, Any]:
    """The JSON Athena keeps in a Presto view's ViewOriginalText."""
    text = table["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */"), text[:40]
    decoded: dict[str, Any] = json.loads(base64.b64decode(text[len("/* Presto View: ") : -len(" */")]))
    return decoded


def named_queries() -> dict[str, str]:
    """Name → SQL of every saved query."""
    resources = load_sam_template()["Resources"]
    return {
        r["Properties"]["Name"]: r["Properties"]["QueryString"]
        for r in resources.values()
        if r["Type"] == "AWS::Athena::NamedQuery"
    }


def to_duckdb(sql: str) -> str:
    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]


def duckdb_type(hive: str) -> str:
    """A Hive column type (string, int, struct<a:string>, array<string>, nested) as DuckDB spells it."""
    if hive in ("string", "int"):
        return {"string": "VARCHAR", "int": "INTEGER"}[hive]
    if hive.startswith("array<") and hive.endswith(">"):
        return f"{duckdb_type(hive[6:-1])}[]"
    if hive.startswith("struct<") and hive.endswith(">"):
        fields = [field.split(":", 1) for field in _top_level_fields(hive[7:-1])]
        return "STRUCT(" + ", ".join(f'"{name}" {duckdb_type(kind)}' for name, kind in fields) + ")"
    raise AssertionError(f"column type not understood by this test: {hive}")


def _top_level_fields(fields: str) -> list[str]:
    """`a:string,b:struct<c:int,d:string>` → its two fields: commas inside <> belong to a nested type."""
    found, depth, start = [], 0, 0
    for index, character in enumerate(fields):
        depth += {"<": 1, ">": -1}.get(character, 0)
        if character == "," and depth == 0:
            found.append(fields[start:index])
            start = index + 1
    return [*found, fields[start:]]


def _files(dest: Path, table: dict[str, Any]) -> str:
    """The table's part files in a local DEST: its location, one folder per partition key, then the parts
    folder named after the table (snapshots/<3 keys>/grants/…, findings/<2 keys>/findings/…)."""
    location = table["StorageDescriptor"]["Location"].split("/", 3)[3]  # s3://bucket/<this>
    return f"{dest}/{location}" + "*/" * len(table["PartitionKeys"]) + f"{table['Name']}/*.jsonl.gz"


def duckdb_over(dest: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with the template's tables over `dest` and its views, created from the template's SQL. A table
    with no files in `dest` (no findings run yet, say) is empty, with its declared columns."""
    connection = duckdb.connect()
    for name, table in glue_tables().items():
        columns = {c["Name"]: duckdb_type(c["Type"]) for c in table["StorageDescriptor"]["Columns"]}
        if table["TableType"] == "VIRTUAL_VIEW":
            connection.execute(f"CREATE VIEW {name} AS {to_duckdb(view_definition(table)['originalSql'])}")
            continue
        partitions = {key["Name"]: "VARCHAR" for key in table["PartitionKeys"]}
        files = _files(dest, table)
        if not glob.glob(files):
            declared = ", ".join(f'"{column}" {kind}' for column, kind in {**columns, **partitions}.items())
            connection.execute(f"CREATE TABLE {name} ({declared})")
            continue
        connection.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_json('{files}', format = 'newline_delimited', "
            f"hive_partitioning = true, hive_types = {partitions}, columns = {columns})"
        )
    return connection


def rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
