"""items.csv and decisions.csv: the columns, writing them with their sha256, and reading them back row by row."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from access_sync.models import ids
from access_sync.stores.blob import BlobStore, BlobWriter

COLUMNS = (
    "item_id",
    "connector",
    "account_id",
    "account_name",
    "account_email",
    "account_status",
    "person_status",
    "entitlement_id",
    "entitlement_name",
    "resource_name",
    "findings",
    "reviewer",
    "decision",
    "comment",
)
DECIDED = ("decision", "comment")
# Every column a reviewer must leave as it is: a decisions file whose row differs here is refused.
FIXED = COLUMNS[: -len(DECIDED)]
DECISIONS = ("keep", "revoke")
FINDINGS_SEPARATOR = ";"
ITEM_ID_LENGTH = 16


class Item(NamedTuple):
    """One row of items.csv (or of a decisions file), every field as text."""

    item_id: str
    connector: str
    account_id: str
    account_name: str
    account_email: str
    account_status: str
    person_status: str
    entitlement_id: str
    entitlement_name: str
    resource_name: str
    findings: str
    reviewer: str
    decision: str = ""
    comment: str = ""

    @property
    def grant_id(self) -> str:
        """account_id is the principal's `<resource type>:<id>`, so the grant id is built back from the row."""
        principal = ids.parse_resource_key(self.account_id)
        if principal is None:
            return ""
        return ids.grant_id(self.entitlement_id, *principal)

    def fixed(self) -> tuple[str, ...]:
        return tuple(self[: len(FIXED)])

    def fingerprint(self) -> int:
        """A short digest of the fixed columns: enough to tell a changed row from the original."""
        digest = hashlib.blake2b("\x1f".join(self.fixed()).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")


class _HashingText:
    """What csv.writer writes to: UTF-8 into a blob writer, hashing as it goes."""

    def __init__(self, target: BlobWriter) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()

    def write(self, text: str) -> int:
        data = text.encode()
        self.sha256.update(data)
        self.target.write(data)
        return len(text)


class ItemsWriter:
    def __init__(self, text: _HashingText) -> None:
        self._text = text
        self._csv = csv.writer(text)
        self._csv.writerow(COLUMNS)
        self.rows = 0

    def write(self, item: Item) -> None:
        self._csv.writerow(item)
        self.rows += 1

    @property
    def sha256(self) -> str:
        return self._text.sha256.hexdigest()


@contextmanager
def write_items(store: BlobStore, key: str) -> Iterator[ItemsWriter]:
    with store.open_writer(key, "text/csv; charset=utf-8") as target:
        yield ItemsWriter(_HashingText(target))


class CsvProblem(ValueError):
    """A row that is not a row of these columns; `line` is its line in the file (the header is line 1)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def parse_rows(text: Iterable[str]) -> Iterator[tuple[int, Item | CsvProblem]]:
    """(line number, item) for each row, or (line number, problem) for a row that has too few or too many fields;
    raises CsvProblem for a wrong header or text that is not CSV at all. A leading byte-order mark (as
    spreadsheets write) is accepted. Blank lines are skipped."""
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise CsvProblem(1, f"the header must be exactly: {','.join(COLUMNS)}")
        for row in reader:
            if not row:
                continue
            if len(row) != len(COLUMNS):
                yield (
                    reader.line_num,
                    CsvProblem(reader.line_num, f"has {len(row)} fields where {len(COLUMNS)} are expected"),
                )
            else:
                yield reader.line_num, Item(*row)
    except csv.Error as exc:
        raise CsvProblem(reader.line_num, f"is not valid CSV ({exc})") from None
    except UnicodeDecodeError:
        raise CsvProblem(reader.line_num, "is not UTF-8 text") from None


@contextmanager
def read_items(store: BlobStore, key: str) -> Iterator[Iterator[tuple[int, Item | CsvProblem]]]:
    with store.open_reader(key) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        yield parse_rows(text)
