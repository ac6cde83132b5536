"""A small DEST written by the real sync engine, for the tests of what reads snapshots (Athena SQL, DuckDB
queries of the docs, the reader commands): Guru with a disabled account and a change between two syncs, Gusto
with a leaver who is still an admin and still has a Guru account, and an admin who matches nobody."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, ResourceType, UserTrait
from access_sync.models.sync_events import SyncEvent
from access_sync.stores.blob import BlobStore, LocalBlobStore
from access_sync.sync.connector import SyncContext
from access_sync.sync.engine import run_sync


class Done(BaseModel):
    done: bool = False


class Org:
    """A connector that writes the given records in one go."""

    base_url = "http://fake.test"
    resource_types: list[ResourceType] = []
    state_model = Done
    requests = 0

    def __init__(self, name: str, resources: list[Resource], entitlements: list[Entitlement], grants: list[Grant]):
        self.name, self.resources, self.entitlements, self.grants = name, resources, entitlements, grants

    def sync(self, ctx: SyncContext[Done]) -> bool:
        for resource in self.resources:
            ctx.sink.resource(resource)
        for entitlement in self.entitlements:
            ctx.sink.entitlement(entitlement)
        for grant in self.grants:
            ctx.sink.grant(grant)
        return True

    def close(self) -> None:
        """Nothing to release."""


def person(kind: str, rid: str, name: str, email: str, status: str = "enabled", **profile: Any) -> Resource:
    return Resource(
        resource_type=kind,
        id=rid,
        display_name=name,
        status="enabled" if status == "enabled" else "disabled",
        user=UserTrait(email=email, login=email),
        profile={"email": email, **profile},
    )


def ref(kind: str, rid: str) -> ResourceRef:
    return ResourceRef(resource_type=kind, id=rid)


GROUPS = [
    Resource(resource_type="group", id=g, display_name=name) for g, name in (("g1", "Engineering"), ("g2", "Sales"))
]
GROUP_MEMBER = [
    Entitlement.for_resource(r.ref, "member", "assignment", f"{r.display_name} member", ["user"]) for r in GROUPS
]
GURU_USERS = [
    person("user", "ann@x.com", "Ann", "ann@x.com"),
    person("user", "bob@x.com", "Bob", "bob@x.com", "disabled", status_in_guru="PENDING"),
    person("user", "cat@x.com", "Cat", "cat@x.com"),
]


def guru(*members: tuple[str, str]) -> Org:
    grants = [Grant.of(f"group:{g}:member", ref("user", email)) for g, email in members]
    return Org("guru", [*GURU_USERS, *GROUPS], GROUP_MEMBER, grants)


COMPANY = Resource(resource_type="company", id="c1", display_name="Acme")
ADMIN = Entitlement.for_resource(COMPANY.ref, "admin", "permission", "Acme admin", ["employee", "contractor", "user"])
GUSTO = Org(
    "gusto",
    [
        COMPANY,
        person("employee", "e1", "Ann", "ann@x.com", work_email="ann@work.x.com"),
        person("employee", "e2", "Cat", "cat@x.com", "disabled", termination_date="2026-11-01"),
        person("contractor", "k1", "Dan", "dan@x.com"),
        person("user", "u1", "Zed", "zed@x.com"),
    ],
    [ADMIN],
    [
        Grant.of("company:c1:admin", ref(kind, rid))
        for kind, rid in (("employee", "e1"), ("employee", "e2"), ("user", "u1"))
    ],
)


def write_sample_dest(root: Path, store: BlobStore | None = None) -> Path:
    """Guru synced twice (Cat joins Sales in between), Gusto once; into `store` (default: the folder `root`)."""
    store = store or LocalBlobStore(root)
    run_sync(guru(("g1", "ann@x.com"), ("g1", "bob@x.com")), store, SyncEvent(connector="guru"))
    run_sync(guru(("g1", "ann@x.com"), ("g1", "bob@x.com"), ("g2", "cat@x.com")), store, SyncEvent(connector="guru"))
    run_sync(GUSTO, store, SyncEvent(connector="gusto"))
    return root
