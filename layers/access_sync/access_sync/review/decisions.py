"""Checking a decisions file against its campaign before anything is carried out.

A decisions file is items.csv with `decision` and `comment` filled in. Every row must be an item of the
campaign, unchanged in every other column, with a decision that is empty, `keep` or `revoke`, and must not
change a decision an earlier application already carried out. Each problem is one line; one problem and
nothing is applied. Memory stays at 32 bytes per row of the file, whatever its size: rows are
compared by a short fingerprint, and only the rows that differ are read again to say how.
"""

from __future__ import annotations

import hashlib
import io
import re
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from access_sync.errors import ConfigurationError
from access_sync.models.digests import DigestIndex
from access_sync.review.campaigns import AppliedDecisions, item_key
from access_sync.review.items import DECISIONS, FIXED, CsvProblem, Item, parse_rows, read_items
from access_sync.review.layout import items_key
from access_sync.review.records import Campaign
from access_sync.stores.blob import BlobStore

DETAILED_CHANGES = 100  # rows whose changed columns are named; beyond that they are only counted


class DecisionsRefused(ConfigurationError):
    """The file does not fit the campaign: `problems` says why, one line each, and nothing was applied."""

    def __init__(self, name: str, problems: list[str]) -> None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{name} was refused ({count}); nothing was applied.")
        self.problems = problems


@dataclass
class Tally:
    keep: int = 0
    revoke: int = 0
    undecided: int = 0

    def add(self, decision: str) -> None:
        setattr(self, decision or "undecided", getattr(self, decision or "undecided") + 1)

    @property
    def rows(self) -> int:
        return self.keep + self.revoke + self.undecided

    def as_dict(self) -> dict[str, int]:
        return {"keep": self.keep, "revoke": self.revoke, "undecided": self.undecided}


class _Rows:
    """Each checked row's item key, fingerprint and line, in arrays (20 bytes a row, plus 12 for the index by
    item key): 600,000 rows take about 19 MB where a dict of ints took 70."""

    def __init__(self) -> None:
        self.keys, self.fingerprints, self.lines = array("Q"), array("Q"), array("I")
        self.by_key = DigestIndex()

    def add(self, key: int, fingerprint: int, line: int) -> None:
        self.by_key.add(key, len(self.lines))
        self.keys.append(key)
        self.fingerprints.append(fingerprint)
        self.lines.append(line)

    def first(self, key: int) -> int | None:
        """The first row with this item key, or None."""
        rows = self.by_key.numbers(key)
        return rows[0] if rows else None


@dataclass
class _Check:
    campaign_id: str
    earlier: AppliedDecisions
    problems: list[tuple[int, str]] = field(default_factory=list)
    rows: _Rows = field(default_factory=_Rows)
    # a changed decision, by the row's number: reported unless the row repeats an item (that is said instead)
    changed_applied: dict[int, tuple[int, str]] = field(default_factory=dict)
    spelled: dict[int, str] = field(default_factory=dict)  # item ids not written as 16 lower-case hex digits
    tally: Tally = field(default_factory=Tally)

    def row(self, line: int, item: Item) -> None:
        decision = item.decision.strip().lower()
        if decision not in ("", *DECISIONS):
            self.problems.append((line, f"decision {item.decision[:20]!r} is not keep, revoke or empty"))
        key = item_key(item.item_id)
        if key < 0:
            self.problems.append((line, f"item {item.item_id[:40]} is not in campaign {self.campaign_id}"))
            return
        before = self.earlier.decision(item.item_id)
        if before and decision and decision != before:
            self.changed_applied[len(self.rows.lines)] = (
                line,
                f"item {item.item_id} was already applied as {before}; an applied decision cannot be changed",
            )
        if item.item_id != f"{key:016x}":
            self.spelled[len(self.rows.lines)] = item.item_id
        self.rows.add(key, item.fingerprint(), line)
        self.tally.add(decision if decision in DECISIONS else "")

    def repeats(self) -> set[int]:
        """Once the whole file is read: every row that repeats an earlier row's item becomes a problem."""
        self.rows.by_key.freeze()
        repeated = set()
        for row, key in enumerate(self.rows.keys):
            first = self.rows.first(key)
            if first is not None and first != row:
                repeated.add(row)
                item_id = self.spelled.get(row, f"{key:016x}")
                self.problems.append(
                    (self.rows.lines[row], f"item {item_id} appears again (first on line {self.rows.lines[first]})")
                )
        self.problems += [problem for row, problem in self.changed_applied.items() if row not in repeated]
        return repeated


@contextmanager
def open_decisions(path: Path) -> Iterator[Iterator[tuple[int, Item | CsvProblem]]]:
    try:
        with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            yield parse_rows(text)
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {path}: {exc.strerror}.") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_items(store: BlobStore, campaign: Campaign) -> None:
    """items.csv must be the file the campaign wrote: decisions are checked against it."""
    digest = hashlib.sha256()
    with store.open_reader(items_key(campaign.campaign_id)) as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != campaign.items_sha256:
        raise ConfigurationError(
            f"items.csv of campaign {campaign.campaign_id} is not the file the campaign wrote (its sha256 differs "
            "from campaign.json); start a new campaign."
        )


def _changed_columns(
    store: BlobStore, campaign: Campaign, path: Path, changed: dict[str, int]
) -> tuple[list[tuple[int, str]], str | None]:
    """(line, `item X differs … in <columns>`) for up to DETAILED_CHANGES changed rows, and a line counting the
    rest, if any."""
    wanted = dict(sorted(changed.items(), key=lambda entry: entry[1])[:DETAILED_CHANGES])
    original: dict[str, Item] = {}
    with read_items(store, items_key(campaign.campaign_id)) as rows:
        for _, item in rows:
            if isinstance(item, Item) and item.item_id in wanted:
                original[item.item_id] = item
    found = []
    with open_decisions(path) as rows:
        for line, item in rows:
            if isinstance(item, Item) and wanted.get(item.item_id) == line:
                before = original[item.item_id].fixed()
                differ = [name for name, now, was in zip(FIXED, item.fixed(), before, strict=True) if now != was]
                found.append(
                    (line, f"item {item.item_id} differs from the campaign's items.csv in {', '.join(differ)}")
                )
    rest = len(changed) - len(wanted)
    return found, f"{rest} more rows differ from the campaign's items.csv" if rest else None


# The page names its download decisions-<campaign_id>.csv; a campaign id has the form of a sync id.
_NAMED_CAMPAIGN = re.compile(r"\d{8}T\d{6,9}Z-[0-9a-f]{8}")


def check_decisions(store: BlobStore, campaign: Campaign, path: Path, earlier: AppliedDecisions) -> Tally:
    """Raises DecisionsRefused listing every problem; returns the counts of a file that fits."""
    named = _NAMED_CAMPAIGN.search(path.name)
    if named and named[0] != campaign.campaign_id:
        raise DecisionsRefused(
            path.name,
            [f"is named for campaign {named[0]}, not {campaign.campaign_id} (rename it if it is meant for this one)"],
        )
    check = _Check(campaign.campaign_id, earlier)
    try:
        with open_decisions(path) as rows:
            for line, item in rows:
                if isinstance(item, CsvProblem):
                    check.problems.append((line, item.message))
                else:
                    check.row(line, item)
    except CsvProblem as problem:
        check.problems.append((problem.line, problem.message))
        raise DecisionsRefused(path.name, [f"line {line}: {text}" for line, text in check.problems]) from None
    repeated = check.repeats()
    seen = bytearray(len(check.rows.lines))
    changed: dict[str, int] = {}
    with read_items(store, items_key(campaign.campaign_id)) as items:
        for _, item in items:
            if not isinstance(item, Item):
                raise ConfigurationError(f"items.csv of campaign {campaign.campaign_id} is damaged: {item.message}.")
            row = check.rows.first(item_key(item.item_id))
            if row is not None and not seen[row]:
                seen[row] = 1
                if check.rows.fingerprints[row] != item.fingerprint():
                    changed[item.item_id] = check.rows.lines[row]
    found = check.problems + [
        (check.rows.lines[row], f"item {check.rows.keys[row]:016x} is not in campaign {campaign.campaign_id}")
        for row in range(len(seen))
        if not seen[row] and row not in repeated
    ]
    rest = None
    if changed:
        differing, rest = _changed_columns(store, campaign, path, changed)
        found += differing
    problems = [f"line {line}: {text}" for line, text in sorted(found)] + ([rest] if rest else [])
    if problems:
        raise DecisionsRefused(path.name, problems)
    return check.tally


def decided_rows(path: Path) -> Iterator[Item]:
    """The rows of a checked file that carry a decision, with the decision written as keep or revoke."""
    with open_decisions(path) as rows:
        for _, item in rows:
            if isinstance(item, Item) and (decision := item.decision.strip().lower()):
                yield item._replace(decision=decision)
