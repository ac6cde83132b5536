"""Registering partitions in the Glue Data Catalog, so that the Athena tables see a complete snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from access_sync.errors import TransientError
from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_errors


@dataclass(frozen=True)
class Partition:
    values: list[str]  # one per partition key of the table, in order
    location: str  # s3://bucket/prefix/ holding the partition's files


class GlueCatalog:
    def __init__(self, database: str) -> None:
        self.database = database
        self._client: Any = None

    def add_partitions(self, table: str, partitions: Sequence[Partition]) -> None:
        """Adds the partitions that are not there yet; one that already exists is left as it is."""
        if self._client is None:
            self._client = aws_client("glue")
        with aws_errors(f"read the Glue table {self.database}.{table}"):
            described = self._client.get_table(DatabaseName=self.database, Name=table)["Table"]
        # A partition reads its files the way its table says (SerDe, formats, columns), only from elsewhere.
        storage = described["StorageDescriptor"]
        inputs = [
            {"Values": partition.values, "StorageDescriptor": {**storage, "Location": partition.location}}
            for partition in partitions
        ]
        with aws_errors(f"register partitions of the Glue table {self.database}.{table}"):
            answer = self._client.batch_create_partition(
                DatabaseName=self.database, TableName=table, PartitionInputList=inputs
            )
        codes = {error["ErrorDetail"].get("ErrorCode", "unknown") for error in answer.get("Errors", [])}
        codes.discard("AlreadyExistsException")
        if codes:
            raise TransientError(
                f"Glue did not register partitions of {self.database}.{table} ({', '.join(sorted(codes))}); "
                "the next sync registers them again."
            )
