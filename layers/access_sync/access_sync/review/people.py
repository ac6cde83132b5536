"""What a review row needs of the person behind an account: their status and their reviewer (manager).

Whom an account belongs to is decided by identity/people.py, as for findings: by address (letter case and
surrounding spaces ignored), unless `config/identities.json` names the person or says the account belongs to
nobody. A review keeps one (status, reviewer) pair per person, shared by everyone with the same pair, so
100,000 people cost a few megabytes beyond the index's digests.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Literal, NamedTuple

from access_sync.identity.people import Identities, People, load_overrides, person_status
from access_sync.models.digests import digest64
from access_sync.models.findings import IdentityOverride, account_key
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import BlobStore

PersonStatus = Literal["active", "left", "scheduled_to_leave", "no_person", "ambiguous"]


class Person(NamedTuple):
    status: PersonStatus
    reviewer: str  # the manager's work_email (else email), or "" when Gusto names no manager


NO_PERSON = Person("no_person", "")
AMBIGUOUS = Person("ambiguous", "")


class PersonIndex:
    """Gusto's people with the overrides, answering for one account at a time."""

    def __init__(self, identities: Identities[Person]) -> None:
        self.identities = identities

    def status_of(self, connector: str, account: dict[str, Any]) -> Person:
        """The person a snapshot resource (an account) belongs to, as its status and reviewer."""
        key = account_key(connector, account["resource_type"], str(account["id"]))
        if connector == "gusto":
            match = self.identities.of_person(key)
        else:
            match = self.identities.match(key, (account.get("id"), (account.get("user") or {}).get("email")))
        if match.person is not None:
            return match.person
        return AMBIGUOUS if len(match.candidates) > 1 else NO_PERSON


def person_index(gusto: SnapshotReader, today: date, overrides: Iterable[IdentityOverride] = ()) -> PersonIndex:
    """One pass over Gusto's resources: people, their addresses, and each manager's address.

    Until the pass ends a person's `reviewer` holds the manager's uuid; people with the same status and
    reviewer then share one Person.
    """
    manager_address: dict[int, str] = {}  # digest of an employee's uuid → their work_email, else email

    def describe(record: dict[str, Any]) -> Person:
        profile = record.get("profile") or {}
        if record["resource_type"] == "employee":
            address = (profile.get("work_email") or profile.get("email") or "").strip()
            if address:
                manager_address[digest64(str(record["id"]))] = address
        return Person(person_status(record, today)[0], str(profile.get("manager_uuid") or ""))

    people = People.from_resources(gusto.records("resources"), describe)
    shared: dict[Person, Person] = {}

    def resolved(person: Person) -> Person:
        reviewer = manager_address.get(digest64(person.reviewer), "") if person.reviewer else ""
        found = Person(person.status, reviewer)
        return shared.setdefault(found, found)

    return PersonIndex(Identities(people.replaced(resolved), overrides))


def load_person_index(store: BlobStore, gusto: SnapshotReader, today: date) -> PersonIndex:
    return person_index(gusto, today, load_overrides(store))
