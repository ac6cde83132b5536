"""Who an account belongs to, by Gusto: each person's status and manager, and the people behind an address.

People are Gusto employees and contractors. An account belongs to a person when one of its addresses equals
the person's `email` or `work_email`, ignoring letter case and surrounding spaces; `config/identities.json`
overrides that per account (`{"account": "guru:user:<id>", "person": "gusto:employee:<uuid>"}` names the
person, `{"account": …, "ignore": "why"}` says it belongs to nobody). Only what a review row needs is kept:
for 100,000 people that is a few tens of megabytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, NamedTuple

from access_sync.errors import ConfigurationError
from access_sync.models import ids
from access_sync.review.layout import IDENTITIES_CONFIG
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import BlobStore

PersonStatus = Literal["active", "left", "scheduled_to_leave", "no_person", "ambiguous"]
PERSON_TYPES = ("employee", "contractor")


class Person(NamedTuple):
    status: PersonStatus
    reviewer: str  # the manager's work_email (else email), or "" when Gusto names no manager


NO_PERSON = Person("no_person", "")
AMBIGUOUS = Person("ambiguous", "")


class Override(NamedTuple):
    person: str | None  # "<resource type>:<id>" of the Gusto person, or None: the account belongs to nobody


def normalise(address: str | None) -> str:
    return (address or "").strip().lower()


def person_status(record: dict[str, Any], today: date) -> PersonStatus:
    """`left` once a termination is effective (or a contractor is inactive), `scheduled_to_leave` before that."""
    if record.get("status") == "disabled":
        return "left"
    ends = (record.get("profile") or {}).get("termination_date")
    if record.get("resource_type") == "employee" and isinstance(ends, str) and ends:
        return "left" if ends <= today.isoformat() else "scheduled_to_leave"
    return "active"


@dataclass
class PersonIndex:
    people: dict[str, Person] = field(default_factory=dict)  # "<type>:<id>" → person
    # address → the key of the one person with it, or a tuple of keys when several share it
    by_address: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)  # "<connector>:<type>:<id>" → override

    def status_of(self, connector: str, account: dict[str, Any]) -> Person:
        """The person a snapshot resource (an account) belongs to, as its status and reviewer."""
        key = ids.resource_key(account["resource_type"], account["id"])
        override = self.overrides.get(f"{connector}:{key}")
        if override is not None:
            return self.people.get(override.person or "", NO_PERSON)
        if connector == "gusto":
            return self.people.get(key, NO_PERSON)
        matches: set[str] = set()
        for address in {normalise(account.get("id")), normalise((account.get("user") or {}).get("email"))}:
            found = self.by_address.get(address, ())
            matches.update((found,) if isinstance(found, str) else found)
        if not matches:
            return NO_PERSON
        if len(matches) > 1:
            return AMBIGUOUS
        return self.people[matches.pop()]

    def add_address(self, address: str, key: str) -> None:
        known = self.by_address.get(address)
        if known is None:
            self.by_address[address] = key
        elif known != key:
            self.by_address[address] = (*((known,) if isinstance(known, str) else known), key)


def _addresses(record: dict[str, Any]) -> set[str]:
    profile = record.get("profile") or {}
    found = {normalise(profile.get("email")), normalise(profile.get("work_email"))}
    found.add(normalise((record.get("user") or {}).get("email")))
    return {address for address in found if address}


def person_index(gusto: SnapshotReader, today: date, overrides: dict[str, Override] | None = None) -> PersonIndex:
    """One pass over Gusto's resources: people, their addresses, and each manager's address.

    Until the pass ends a person's `reviewer` holds the manager's uuid; people with the same status and
    reviewer then share one Person, which keeps 100,000 people in a few tens of megabytes.
    """
    index = PersonIndex(overrides=overrides or {})
    manager_address: dict[str, str] = {}  # employee uuid → work_email, else email
    for record in gusto.records("resources"):
        if record["resource_type"] not in PERSON_TYPES:
            continue
        key = ids.resource_key(record["resource_type"], record["id"])
        profile = record.get("profile") or {}
        if record["resource_type"] == "employee":
            address = (profile.get("work_email") or profile.get("email") or "").strip()
            if address:
                manager_address[record["id"]] = address
        index.people[key] = Person(person_status(record, today), str(profile.get("manager_uuid") or ""))
        for address in _addresses(record):
            index.add_address(address, key)
    shared: dict[Person, Person] = {}
    for key, person in index.people.items():
        resolved = Person(person.status, manager_address.get(person.reviewer, ""))
        index.people[key] = shared.setdefault(resolved, resolved)
    return index


def parse_overrides(raw: bytes | None) -> dict[str, Override]:
    """config/identities.json, or {} when there is none."""
    if raw is None:
        return {}
    problem = ConfigurationError(
        'config/identities.json must be a JSON list of {"account": "guru:user:<id>", "person": '
        '"gusto:employee:<uuid>"} or {"account": …, "ignore": "why"} entries.'
    )
    try:
        entries = json.loads(raw)
    except ValueError:
        raise problem from None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("account"), str) for e in entries
    ):
        raise problem
    return dict(_override(entry, problem) for entry in entries)


def _override(entry: dict[str, Any], problem: ConfigurationError) -> tuple[str, Override]:
    person = entry.get("person")
    if isinstance(person, str) and person.startswith("gusto:"):
        return entry["account"], Override(person.removeprefix("gusto:"))
    if "ignore" in entry:
        return entry["account"], Override(None)
    raise problem


def load_person_index(store: BlobStore, gusto: SnapshotReader, today: date) -> PersonIndex:
    return person_index(gusto, today, parse_overrides(store.get_bytes(IDENTITIES_CONFIG)))
