"""What changed between two snapshots of one connector, record by record, in bounded memory.

Each side is sorted by change id with an external merge sort (snapshot/sorting.py), and the two sorted
streams are joined like two sorted lists. Memory therefore stays near the sort's run size whatever the size of
the snapshots, and the output is in id order, so the same two snapshots always give the same changes, however
their records were written.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from access_sync.models.snapshot import RECORD_KINDS, ChangeCounts, FileInfo
from access_sync.snapshot.layout import part_name
from access_sync.snapshot.sorting import RUN_BYTES, ExternalSort, Keyed, leading_strings, resource_sort_key
from access_sync.snapshot.writer import PartWriter
from access_sync.stores.blob import BlobStore

LineSource = Callable[[str], Iterable[bytes]]  # record kind → its JSON lines
ChangeType = Literal["added", "removed", "modified"]

_RECORD_KIND = {"resources": "resource", "entitlements": "entitlement", "grants": "grant"}
_MISSING = object()


@dataclass(frozen=True)
class Change:
    change: ChangeType
    line: bytes  # the change record as a compact JSON line, with its newline


def change_id(kind: str, line: bytes) -> str:
    """Resources are known by `<resource_type>:<id>` (ids are unique per type only); the rest by their id."""
    if kind == "resources":
        return resource_sort_key(line)
    fast = leading_strings(line, '{"id":"')
    return fast[0] if fast is not None else str(json.loads(line)["id"])


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Top-level keys whose values differ, with `profile.<key>` for the keys inside `profile`."""
    fields: list[str] = []
    for key in _union(after, before):
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if old == new:
            continue
        if key == "profile" and isinstance(old, dict) and isinstance(new, dict):
            fields += [f"profile.{k}" for k in _union(new, old) if old.get(k, _MISSING) != new.get(k, _MISSING)]
        else:
            fields.append(key)
    return fields


def _union(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    return [*first, *(key for key in second if key not in first)]


def _joined(old: Iterator[Keyed], new: Iterator[Keyed]) -> Iterator[tuple[str, bytes | None, bytes | None]]:
    """Two id-sorted streams → (id, old line or None, new line or None), in id order."""
    a, b = next(old, None), next(new, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            yield a[0], a[1], None
            a = next(old, None)
        elif a is None or b[0] < a[0]:
            yield b[0], None, b[1]
            b = next(new, None)
        else:
            yield a[0], a[1], b[1]
            a, b = next(old, None), next(new, None)


def _change_line(
    kind: str, change: ChangeType, key: str, old: bytes | None, new: bytes | None, fields: list[str]
) -> bytes:
    text = json.dumps(key, ensure_ascii=False)
    listed = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return (
        f'{{"kind":"{_RECORD_KIND[kind]}","change":"{change}","id":{text},"before":'.encode()
        + (old or b"null")
        + b',"after":'
        + (new or b"null")
        + f',"fields":{listed}}}\n'.encode()
    )


def diff(
    before: LineSource, after: LineSource, *, workdir: Path | None = None, run_bytes: int = RUN_BYTES
) -> Iterator[Change]:
    """Every change from `before` to `after`: resources, then entitlements, then grants, each in id order."""
    with ExitStack() as files:
        folder = Path(workdir) if workdir else Path(files.enter_context(tempfile.TemporaryDirectory("-changes")))
        sorter = ExternalSort(folder, run_bytes)
        for kind in RECORD_KINDS:
            key = _key_for(kind)
            old, new = sorter.sorted(before(kind), key), sorter.sorted(after(kind), key)
            for record_id, old_line, new_line in _joined(old, new):
                if old_line is None:
                    yield Change("added", _change_line(kind, "added", record_id, None, new_line, []))
                elif new_line is None:
                    yield Change("removed", _change_line(kind, "removed", record_id, old_line, None, []))
                elif old_line != new_line:
                    fields = changed_fields(json.loads(old_line), json.loads(new_line))
                    if fields:  # equal records written with their keys in another order are no change
                        yield Change("modified", _change_line(kind, "modified", record_id, old_line, new_line, fields))


def _key_for(kind: str) -> Callable[[bytes], str]:
    return lambda line: change_id(kind, line)


def write_changes(
    store: BlobStore, folder: str, before: LineSource | None, after: LineSource, baseline_sync_id: str | None
) -> tuple[dict[str, FileInfo], ChangeCounts]:
    """Writes `changes/part-00000.jsonl.gz` into `folder` (zero lines without a baseline) and counts them."""
    part = PartWriter(store, f"{folder}/{part_name('changes', 0)}")
    counts: Counter[str] = Counter()
    try:
        for change in diff(before, after) if before is not None else ():
            part.write(change.line)
            counts[change.change] += 1
    except BaseException:
        part.abort()
        raise
    summary = ChangeCounts(baseline_sync_id=baseline_sync_id, **counts)
    return {part_name("changes", 0): part.close()}, summary
