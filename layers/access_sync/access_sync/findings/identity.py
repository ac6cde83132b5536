"""What findings keep of a Gusto person (identity/people.py decides whom an account belongs to).

One small tuple per person: enough to name them in a finding's message and `person` record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

from access_sync.identity.people import Identities, People, load_overrides, person_status
from access_sync.models.findings import PersonStatus
from access_sync.stores.blob import BlobStore


class Person(NamedTuple):
    resource_type: str
    id: str
    display_name: str
    status: PersonStatus
    termination_date: str | None

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


def people(resources: Iterable[dict[str, Any]], today: date) -> People[Person]:
    """Gusto's employees and contractors among `resources` (records), as of `today`."""

    def describe(record: dict[str, Any]) -> Person:
        status, ends = person_status(record, today)
        return Person(record["resource_type"], str(record["id"]), str(record.get("display_name") or ""), status, ends)

    return People.from_resources(resources, describe)


def load_identities(store: BlobStore, resources: Iterable[dict[str, Any]], today: date) -> Identities[Person]:
    """The overrides first (a broken file stops the run before any work), then the people."""
    overrides = load_overrides(store)
    return Identities(people(resources, today), overrides)
