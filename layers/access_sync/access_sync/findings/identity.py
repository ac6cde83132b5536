"""Who is who: Gusto's people by address, and the overrides of `config/identities.json` (docs/findings.md).

People are Gusto employees and contractors. An account belongs to a person when one of its addresses equals
the person's `email` or `work_email`, ignoring letter case and surrounding spaces, unless an override says
otherwise. The index keeps one small tuple per person, so 30,000 people cost a few megabytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from pydantic import ValidationError

from access_sync.errors import ConfigurationError
from access_sync.models.findings import IdentityOverride, PersonStatus, account_key
from access_sync.stores.blob import BlobStore

IDENTITIES_KEY = "config/identities.json"
PERSON_TYPES = ("employee", "contractor")


def address(value: object) -> str | None:
    """The comparable form of an email address: no surrounding spaces, lower case; None when there is none."""
    if not isinstance(value, str):
        return None
    cleaned = value.strip().lower()
    return cleaned or None


class Person(NamedTuple):
    resource_type: str
    id: str
    display_name: str
    status: PersonStatus
    termination_date: str | None

    @property
    def key(self) -> str:
        return account_key("gusto", self.resource_type, self.id)

    @property
    def has_left(self) -> bool:
        return self.status == "left"

    def as_record(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type,
            "id": self.id,
            "display_name": self.display_name,
            "status": self.status,
            "termination_date": self.termination_date,
        }


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
    found.discard(None)
    return {value for value in found if value}


class People:
    """Gusto's employees and contractors, by key and by address."""

    def __init__(self) -> None:
        self.by_key: dict[str, Person] = {}
        self._by_address: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_resources(cls, resources: Iterable[dict[str, Any]], today: date) -> People:
        people = cls()
        for record in resources:
            if record.get("resource_type") in PERSON_TYPES:
                people.add(record, today)
        return people

    def add(self, record: dict[str, Any], today: date) -> None:
        status, ends = person_status(record, today)
        person = Person(record["resource_type"], str(record["id"]), str(record.get("display_name") or ""), status, ends)
        self.by_key[person.key] = person
        for value in person_addresses(record):
            known = self._by_address.get(value, ())
            if person.key not in known:
                self._by_address[value] = (*known, person.key)

    def matching(self, addresses: Iterable[str | None]) -> list[Person]:
        """Everyone whose email or work_email is one of `addresses`, each once, in a stable order."""
        keys: dict[str, None] = {}
        for value in addresses:
            cleaned = address(value)
            if cleaned:
                keys.update(dict.fromkeys(self._by_address.get(cleaned, ())))
        return [self.by_key[key] for key in keys]


@dataclass(frozen=True)
class Match:
    """Whom an account belongs to: one person, several candidates (ambiguous), nobody, or nobody on purpose."""

    person: Person | None = None
    candidates: tuple[Person, ...] = ()
    ignored: str | None = None
    missing_override: str | None = None  # an override names a person the Gusto snapshot does not have


class Identities:
    """People plus the overrides: the one place that decides whom an account belongs to."""

    def __init__(self, people: People, overrides: Iterable[IdentityOverride] = ()) -> None:
        self.people = people
        self.overrides = {entry.account: entry for entry in overrides}

    def match(self, account: str, addresses: Iterable[str | None]) -> Match:
        override = self.overrides.get(account)
        if override is not None:
            if override.ignore is not None:
                return Match(ignored=override.ignore)
            assert override.person is not None  # an override has exactly one of the two
            person = self.people.by_key.get(override.person)
            return Match(person=person) if person else Match(missing_override=override.person)
        found = self.people.matching(addresses)
        if len(found) == 1:
            return Match(person=found[0])
        return Match(candidates=tuple(found))


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
