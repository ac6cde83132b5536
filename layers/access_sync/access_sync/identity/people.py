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
from access_sync.models.digests import digest64
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
    if "terminated" not in profile:  # a snapshot that only says enabled or disabled
        return ("left" if record.get("status") == "disabled" else "active"), ends
    if not profile.get("terminated"):
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
    """Gusto's employees and contractors, each as the value `describe` made of its record, by key and by address."""

    def __init__(self) -> None:
        self._by_key: dict[int, P] = {}  # digest of the person's key → value
        # digest of an address → the digest of the one person's key with it, or of each when several share it
        self._by_address: dict[int, int | tuple[int, ...]] = {}

    @classmethod
    def from_resources(cls, resources: Iterable[dict[str, Any]], describe: Callable[[dict[str, Any]], P]) -> People[P]:
        people = cls()
        for record in resources:
            if record.get("resource_type") in PERSON_TYPES:
                people.add(record, describe(record))
        return people

    def add(self, record: dict[str, Any], value: P) -> None:
        key = digest64(person_key(record))
        self._by_key[key] = value
        for found in person_addresses(record):
            at = digest64(found)
            known = self._by_address.get(at)
            if known is None:
                self._by_address[at] = key
            elif isinstance(known, int):
                if known != key:
                    self._by_address[at] = (known, key)
            elif key not in known:
                self._by_address[at] = (*known, key)

    def get(self, key: str) -> P | None:
        """The person `gusto:<type>:<id>`, or None when Gusto has no such person."""
        return self._by_key.get(digest64(key))

    def __len__(self) -> int:
        return len(self._by_key)

    def matching(self, addresses: Iterable[str | None]) -> list[P]:
        """Everyone whose email or work_email is one of `addresses`, each once, in a stable order."""
        keys: dict[int, None] = {}
        for value in addresses:
            cleaned = address(value)
            if cleaned:
                found = self._by_address.get(digest64(cleaned), ())
                keys.update(dict.fromkeys((found,) if isinstance(found, int) else found))
        return [self._by_key[key] for key in keys]

    def replaced(self, value: Callable[[P], Q]) -> People[Q]:
        """The same people, each value replaced by `value(old)` (the addresses are shared, not copied)."""
        people: People[Q] = People()
        people._by_key = {key: value(old) for key, old in self._by_key.items()}
        people._by_address = self._by_address
        return people


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
