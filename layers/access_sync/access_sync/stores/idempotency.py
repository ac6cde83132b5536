"""Where Powertools Idempotency keeps its records: DynamoDB on AWS, a folder for local operator runs.

The folder layer follows the DynamoDB layer's rules (create if absent, expired, or an in-progress record
whose lease ran out, and payload validation of a record that is already there), using an exclusive file create
as the conditional write.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import NoReturn

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS

from access_sync.stores.aws_clients import aws_client


class FolderPersistenceLayer(BasePersistenceLayer):
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        super().__init__()
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key.replace('/', '_').replace('#', '_')}.json"

    def _read(self, key: str) -> DataRecord | None:
        try:
            raw = json.loads(self._path(key).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return DataRecord(**raw)

    def _get_record(self, idempotency_key: str) -> DataRecord:
        record = self._read(idempotency_key)
        if record is None:
            raise IdempotencyItemNotFoundError()
        return record

    def _write(self, record: DataRecord, exclusive: bool) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fields = {
            "idempotency_key": record.idempotency_key,
            "status": record.status,
            "expiry_timestamp": record.expiry_timestamp,
            "in_progress_expiry_timestamp": record.in_progress_expiry_timestamp,
            "response_data": record.response_data,
            "payload_hash": record.payload_hash,
        }
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        with os.fdopen(os.open(self._path(record.idempotency_key), flags, 0o600), "w") as handle:
            json.dump(fields, handle)

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self._read(data_record.idempotency_key)
        if existing is not None and not self._replaceable(existing):
            self._already_exists(data_record, existing)
        if existing is not None:
            self._path(data_record.idempotency_key).unlink(missing_ok=True)
        try:
            self._write(data_record, exclusive=True)
        except FileExistsError:
            self._already_exists(data_record, self._read(data_record.idempotency_key))

    def _already_exists(self, data_record: DataRecord, existing: DataRecord | None) -> NoReturn:
        """As the DynamoDB layer does: a record handed back with the conflict is checked against this payload
        first, so the same key with another payload raises IdempotencyValidationError, not the first answer."""
        if existing is not None:
            self._validate_payload(data_payload=data_record, stored_data_record=existing)
        raise IdempotencyItemAlreadyExistsError(old_data_record=existing)

    @staticmethod
    def _replaceable(record: DataRecord) -> bool:
        now = time.time()
        if record.expiry_timestamp is not None and record.expiry_timestamp < now:
            return True
        lease = record.in_progress_expiry_timestamp
        return record.status == STATUS_CONSTANTS["INPROGRESS"] and lease is not None and lease < now * 1000

    def _update_record(self, data_record: DataRecord) -> None:
        self._write(data_record, exclusive=False)

    def _delete_record(self, data_record: DataRecord) -> None:
        self._path(data_record.idempotency_key).unlink(missing_ok=True)


def persistence_layer(table: str | None, folder: str | os.PathLike[str] | None = None) -> BasePersistenceLayer:
    if table:
        # The process's shared client: Powertools would otherwise build a session and a client of its own.
        return DynamoDBPersistenceLayer(table_name=table, boto3_client=aws_client("dynamodb"))
    if folder is None:
        raise ValueError("a folder is needed when there is no idempotency table")
    return FolderPersistenceLayer(folder)
