"""Gusto's people by key and by address, and the overrides of `config/identities.json` (docs/findings.md).

People are Gusto employees and contractors. An account belongs to a person when one of its addresses equals
the person's `email` or `work_email`, ignoring letter case and surrounding spaces, unless an override says
otherwise. Each reader keeps only what it needs of a person (a value it makes from the record), and the
index holds 8-byte digests of keys and addresses instead of the strings, so 100,000 people cost a few
megabytes beyond those values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from access_sync.errors import ConfigurationError
from access_sync.models.digests import DigestIndex, digest64
from access_sync.models.findings import IdentityOverride, PersonStatus, account_key
from access_sync.stores.blob import BlobStore

IDENTITIES_KEY = "config/identities.json"
PERSON_TYPES = ("employee", "contractor")
P = TypeVar("P")
Q = TypeVar("Q")


def address(value: object) -> str | None:
    """The comparable form of an email address: no surrounding spaces, lower case; None when there is none."""
    if not isinstance(value, str):
        return None
    cleaned = value.strip().lower()
    return cleaned or None


def person_key(record: dict[str, Any]) -> str:
    """`gusto:employee:<uuid>`: how findings and config/identities.json name a person."""
    return account_key("gusto", record["resource_type"], str(record["id"]))


def person_status(record: dict[str, Any], today: date) -> tuple[PersonStatus, str | None]:
    """Whether a Gusto employee or contractor has left on `today`, and the date they left (or will)."""
    profile = record.get("profile") or {}
    if record["resource_type"] == "contractor":
        left = profile.get("is_active") is False or ("is_active" not in profile and record.get("status") == "disabled")
        return ("left" if left else "active"), profile.get("dismissal_date")
    ends = profile.get("termination_date")
    if "terminated" not in profile:  # a snapshot without Gusto's flag: enabled or disabled, and maybe a date
        if record.get("status") == "disabled":
            return "left", ends
        if not isinstance(ends, str) or not ends:
            return "active", None
    elif not profile.get("terminated"):
        return "active", None
    # Gusto says `terminated` as soon as a termination is scheduled: it counts once its date has come.
    if ends and str(ends) > today.isoformat():
        return "scheduled_to_leave", str(ends)
    return "left", ends


def person_addresses(record: dict[str, Any]) -> set[str]:
    profile = record.get("profile") or {}
    user = record.get("user") or {}
    found = {address(profile.get("email")), address(profile.get("work_email")), address(user.get("email"))}
    return {value for value in found if value}


class People(Generic[P]):
    """Gusto's employees and contractors, each as the value `describe` made of its record, by key and by address.

    Keys and addresses are held as sorted 8-byte digests (models/digests.py), each pointing at its person's
    number; only the values themselves are Python objects.
    """

    def __init__(self, values: list[P], by_key: DigestIndex, by_address: DigestIndex) -> None:
        self._values, self._by_key, self._by_address = values, by_key, by_address

    @classmethod
    def from_resources(cls, resources: Iterable[dict[str, Any]], describe: Callable[[dict[str, Any]], P]) -> People[P]:
        values: list[P] = []
        by_key, by_address = DigestIndex(), DigestIndex()
        for record in resources:
            if record.get("resource_type") not in PERSON_TYPES:
                continue
            number = len(values)
            values.append(describe(record))
            by_key.add(digest64(person_key(record)), number)
            for found in sorted(person_addresses(record)):
                by_address.add(digest64(found), number)
        by_key.freeze()
        by_address.freeze()
        return cls(values, by_key, by_address)

    def get(self, key: str) -> P | None:
        """The person `gusto:<type>:<id>`, or None when Gusto has no such person (the last, if listed twice)."""
        numbers = self._by_key.numbers(digest64(key))
        return self._values[numbers[-1]] if numbers else None

    def __len__(self) -> int:
        return len(self._values)

    def matching(self, addresses: Iterable[str | None]) -> list[P]:
        """Everyone whose email or work_email is one of `addresses`, each once, in a stable order."""
        numbers: dict[int, None] = {}
        for value in addresses:
            cleaned = address(value)
            if cleaned:
                numbers.update(dict.fromkeys(self._by_address.numbers(digest64(cleaned))))
        return [self._values[number] for number in numbers]

    def replaced(self, value: Callable[[P], Q]) -> People[Q]:
        """The same people, each value replaced by `value(old)` (the digests are shared, not copied)."""
        return People([value(old) for old in self._values], self._by_key, self._by_address)


@dataclass(frozen=True)
class Match(Generic[P]):
    """Whom an account belongs to: one person, several candidates (ambiguous), nobody, or nobody on purpose."""

    person: P | None = None
    candidates: tuple[P, ...] = ()
    ignored: str | None = None
    missing_override: str | None = None  # an override names a person the Gusto snapshot does not have


class Identities(Generic[P]):
    """People plus the overrides: the one place that decides whom an account belongs to."""

    def __init__(self, people: People[P], overrides: Iterable[IdentityOverride] = ()) -> None:
        self.people = people
        self.overrides = {entry.account: entry for entry in overrides}

    def match(self, account: str, addresses: Iterable[str | None]) -> Match[P]:
        """`account` is `<connector>:<type>:<id>`; `addresses` are the account's own (its id, its email)."""
        override = self.overrides.get(account)
        if override is not None:
            if override.ignore is not None:
                return Match(ignored=override.ignore)
            assert override.person is not None  # an override has exactly one of the two
            person = self.people.get(override.person)
            return Match(person=person) if person is not None else Match(missing_override=override.person)
        found = self.people.matching(addresses)
        if len(found) == 1:
            return Match(person=found[0])
        return Match(candidates=tuple(found))

    def of_person(self, account: str) -> Match[P]:
        """A Gusto employee or contractor account: the person it is, unless an override says otherwise."""
        if account in self.overrides:
            return self.match(account, [])
        return Match(person=self.people.get(account))


def load_overrides(store: BlobStore) -> list[IdentityOverride]:
    """`config/identities.json` under DEST, or no overrides when there is no such file."""
    raw = store.get_bytes(IDENTITIES_KEY)
    if raw is None:
        return []
    where = store.describe(IDENTITIES_KEY)
    try:
        entries = json.loads(raw)
    except ValueError:
        raise ConfigurationError(f"{where} is not JSON: give a list of account overrides.") from None
    if not isinstance(entries, list):
        raise ConfigurationError(f"{where} must be a JSON list of account overrides.")
    return list(_parse_entries(entries, where))


def _parse_entries(entries: list[Any], where: str) -> Iterator[IdentityOverride]:
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        try:
            override = IdentityOverride.model_validate(entry)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = ".".join(str(part) for part in problem["loc"])
            detail = f"{field}: {problem['msg']}" if field else problem["msg"]
            raise ConfigurationError(f"{where}, entry {number}: {detail}.") from None
        if override.account in seen:
            raise ConfigurationError(f"{where}, entry {number}: {override.account} is listed twice.")
        seen.add(override.account)
        yield override
