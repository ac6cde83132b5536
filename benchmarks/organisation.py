"""The generated organisation the findings, review and reader benchmarks run on, written as real snapshots.

Records go through the real sync engine (access_sync_dev's FixtureSyncer, no API), from generators, so that
600,000 memberships are never held. The shapes:

- Gusto: one company and `people` people. Every 10th is a contractor, the rest employees; every 10th
  (index % 10 == 9) has left. An employee's work address is the person's address (their `email` is a home
  one) and their manager an employee among the first tenth; the first 10 people are company admins.
- Guru: `groups` groups (g0 is built in, as Guru's All Members is) and `members` members. Member i < `people`
  is person i, by address (every 4th in upper case, which still matches), the rest belong to nobody. Each
  group has memberships // groups members, listed group after group as the Guru sync writes them.

`revision` > 0 gives the same organisation some time later: every 100th member renamed and about 1 % of the
memberships gone, so two revisions differ by a few thousand changes.
"""

from __future__ import annotations

from collections.abc import Iterator

from access_sync.models import ids
from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, ResourceType, UserTrait
from access_sync.stores.blob import BlobStore
from access_sync_dev.fixture_syncer import FixtureSyncer, write_snapshot

COMPANY = ResourceRef(resource_type="company", id="c0ffee00-0000-4000-8000-00000000b00c")
ADMINS = 10


def person_address(index: int) -> str:
    return f"person{index}@corp.test"


def member_id(index: int, people: int) -> str:
    """Guru member `index`'s id (its address): person `index`'s address when there is that person."""
    address = person_address(index) if index < people else f"nobody{index}@elsewhere.test"
    return address.upper() if index % 4 == 1 else address


def _has_left(index: int) -> bool:
    return index % 10 == 9


def _person(index: int) -> Resource:
    """Every tenth person a contractor, the others employees; one in ten of either (index ending in 9) has left."""
    left = _has_left(index)
    address = person_address(index)
    if index % 10 == 0:
        kind, id_, profile = "contractor", f"c{index}", {"email": address, "is_active": not left}
    else:
        kind, id_ = "employee", f"e{index}"
        profile = {
            "email": f"p{index}@home.test",
            "work_email": address,
            "manager_uuid": f"e{index // 10 | 1}" if index >= 10 else None,
            "terminated": left,
            "termination_date": "2026-01-31" if left else None,
        }
    return Resource(
        resource_type=kind,
        id=id_,
        display_name=f"Person {index}",
        parent=COMPANY,
        status="disabled" if left else "enabled",
        user=UserTrait(email=address, login=address),
        profile=profile,
    )


def gusto(people: int) -> FixtureSyncer:
    def resources() -> Iterator[Resource]:
        yield Resource(resource_type=COMPANY.resource_type, id=COMPANY.id, display_name="Bench Co")
        for index in range(people):
            yield _person(index)

    admin = Entitlement.for_resource(COMPANY, "admin", "permission", "Bench Co admin", ["employee", "contractor"])
    admins = [Grant.of(admin.id, _person(index).ref) for index in range(min(ADMINS, people))]
    types = [
        ResourceType(id="company", display_name="Company"),
        ResourceType(id="employee", display_name="Employee", traits=["user"]),
        ResourceType(id="contractor", display_name="Contractor", traits=["user"]),
    ]
    return FixtureSyncer("gusto", types, resources(), [admin], admins)


def guru(members: int, groups: int, memberships: int, *, people: int, revision: int = 0) -> FixtureSyncer:
    def resources() -> Iterator[Resource]:
        for index in range(members):
            member = member_id(index, people)
            renamed = f" ({revision})" if revision and index % 100 == 0 else ""
            yield Resource(
                resource_type="user",
                id=member,
                display_name=f"Member {index}{renamed}",
                user=UserTrait(email=member, login=member),
                profile={"status": "ACTIVE"},
            )
        for group in range(groups):
            yield Resource(
                resource_type="group", id=f"g{group}", display_name=f"Group {group}", profile={"modifiable": group > 0}
            )

    def entitlements() -> Iterator[Entitlement]:
        for group in range(groups):
            ref = ResourceRef(resource_type="group", id=f"g{group}")
            yield Entitlement.for_resource(ref, "member", "assignment", f"Group {group} member", ["user"])

    def grants() -> Iterator[tuple[str, str, str]]:
        per_group = memberships // groups
        for group in range(groups):
            entitlement = ids.entitlement_id("group", f"g{group}", "member")
            for k in range(per_group):
                if revision and (group + k) % 100 == revision % 100:
                    continue
                yield entitlement, "user", member_id((group * 7919 + k * 31) % members, people)

    types = [
        ResourceType(id="user", display_name="User", traits=["user"]),
        ResourceType(id="group", display_name="Group", traits=["group"]),
    ]
    return FixtureSyncer("guru", types, resources(), entitlements(), grants())


def write_organisation(store: BlobStore, *, members: int, groups: int, memberships: int, people: int) -> None:
    """A Gusto snapshot, then a Guru one, as complete snapshots under `store`."""
    write_snapshot(store, gusto(people))
    write_snapshot(store, guru(members, groups, memberships, people=people))
