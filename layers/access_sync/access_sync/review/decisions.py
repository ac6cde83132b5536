"""Checking a decisions file against its campaign before anything is carried out.

A decisions file is items.csv with `decision` and `comment` filled in. Every row must be an item of the
campaign, unchanged in every other column, with a decision that is empty, `keep` or `revoke`, and must not
change a decision an earlier application already carried out. Each problem is one line; one problem and
nothing is applied. Memory stays at one small entry per row of the file, whatever its size: rows are
compared by a short fingerprint, and only the rows that differ are read again to say how.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from access_sync.errors import ConfigurationError
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


@dataclass
class _Check:
    campaign_id: str
    earlier: AppliedDecisions
    problems: list[tuple[int, str]] = field(default_factory=list)
    expected: dict[int, int] = field(default_factory=dict)  # item key → fingerprint << 32 | line
    tally: Tally = field(default_factory=Tally)

    def row(self, line: int, item: Item) -> None:
        decision = item.decision.strip().lower()
        if decision not in ("", *DECISIONS):
            self.problems.append((line, f"decision {item.decision[:20]!r} is not keep, revoke or empty"))
        key = item_key(item.item_id)
        if key < 0:
            self.problems.append((line, f"item {item.item_id[:40]} is not in campaign {self.campaign_id}"))
            return
        if key in self.expected:
            first = self.expected[key] & 0xFFFFFFFF
            self.problems.append((line, f"item {item.item_id} appears again (first on line {first})"))
            return
        before = self.earlier.decision(item.item_id)
        if before and decision and decision != before:
            self.problems.append(
                (line, f"item {item.item_id} was already applied as {before}; an applied decision cannot be changed")
            )
        self.expected[key] = item.fingerprint() << 32 | line
        self.tally.add(decision if decision in DECISIONS else "")


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
    changed: dict[str, int] = {}
    with read_items(store, items_key(campaign.campaign_id)) as items:
        for _, item in items:
            if not isinstance(item, Item):
                raise ConfigurationError(f"items.csv of campaign {campaign.campaign_id} is damaged: {item.message}.")
            packed = check.expected.pop(item_key(item.item_id), None)
            if packed is not None and packed >> 32 != item.fingerprint():
                changed[item.item_id] = packed & 0xFFFFFFFF
    found = check.problems + [
        (packed & 0xFFFFFFFF, f"item {key:016x} is not in campaign {campaign.campaign_id}")
        for key, packed in check.expected.items()
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
