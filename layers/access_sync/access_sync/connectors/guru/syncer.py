"""Guru → snapshot records, as the Guru table of docs/snapshot-format.md says.

| resource | from                          | notes                                                        |
|----------|-------------------------------|--------------------------------------------------------------|
| user     | GET /members (Link-paged)     | id = member id (the email Guru's group paths take); not ACTIVE → disabled |
| group    | GET /groups                   | entitlement group:<gid>:member (assignment)                   |
| grants   | GET /groups/{gid}/members     | one per membership, principal = that user                    |

Groups are listed first (one request); then the members list and every group's member list run as
concurrent page chains (sync/pages.py), so the long /members chain overlaps the group fetches. /members is
the critical chain: while it runs, the group lists share half the workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from access_sync.connectors.guru.client import GuruClient, ListPage, member_path
from access_sync.models import ids
from access_sync.models.snapshot import Entitlement, Resource, ResourceType, UserTrait
from access_sync.sync.connector import ClientSyncer, SyncContext
from access_sync.sync.pages import Chain, run_chains

RESOURCE_TYPES = [
    ResourceType(id="user", display_name="User", traits=["user"]),
    ResourceType(id="group", display_name="Group", traits=["group"]),
]
MEMBERS = "members"
GROUP = "group"
MEMBER_SLUG = "member"


class GuruSyncState(BaseModel):
    """Where a Guru sync stands: the group ids (listed first), how many membership chains have begun, and the
    next page of every chain under way (the /members chain is keyed `members`, a group's members by the
    group's entitlement id)."""

    groups: list[str] | None = None
    next_group: int = 0
    cursors: dict[str, str] = Field(default_factory=dict)


def user_resource(member: dict[str, Any]) -> Resource:
    user = member.get("user") or {}
    email = user.get("email") or member.get("id")
    name = " ".join(part for part in (user.get("firstName"), user.get("lastName")) if part)
    attributes = member.get("userAttributes") or {}
    return Resource(
        resource_type="user",
        id=str(member.get("id") or email),
        display_name=name or str(email),
        status="enabled" if user.get("status") == "ACTIVE" else "disabled",
        user=UserTrait(email=email, login=email),
        profile={
            "user_id": user.get("id"),
            "status": user.get("status"),
            "first_name": user.get("firstName"),
            "last_name": user.get("lastName"),
            "user_type": user.get("userType"),
            "highest_role": member.get("highestRole"),
            "billing_type": attributes.get("BILLING_TYPE"),
            "access_type": attributes.get("ACCESS_TYPE"),
            "date_created": member.get("dateCreated"),
        },
    )


def group_resource(group: dict[str, Any]) -> Resource:
    return Resource(
        resource_type="group",
        id=str(group["id"]),
        display_name=str(group.get("name") or group["id"]),
        profile={
            "group_identifier": group.get("groupIdentifier"),
            "number_of_members": group.get("numberOfMembers"),
            "modifiable": group.get("modifiable"),
            "managed_by_scim": group.get("managedByScim"),
            "date_created": group.get("dateCreated"),
        },
    )


def member_entitlement(group: Resource) -> Entitlement:
    return Entitlement.for_resource(
        group.ref, MEMBER_SLUG, "assignment", f"{group.display_name} member", grantable_to=["user"]
    )


def member_principal(member: dict[str, Any]) -> str:
    """The user a group membership belongs to: the member id (an email), as in /members."""
    return str(member.get("id") or (member.get("user") or {}).get("email"))


class GuruSyncer(ClientSyncer[GuruClient]):
    name = "guru"
    resource_types = RESOURCE_TYPES
    state_model = GuruSyncState

    def __init__(self, client: GuruClient, concurrency: int = 16) -> None:
        super().__init__(client, concurrency)

    def sync(self, ctx: SyncContext[GuruSyncState]) -> bool:
        state = ctx.state
        if state.groups is None:
            state.groups, state.next_group, state.cursors = self._sync_groups(ctx), 0, {MEMBERS: MEMBERS}
            if ctx.deadline.should_stop():
                return False

        def new_chains() -> Iterator[Chain]:
            for gid in (state.groups or [])[state.next_group :]:
                yield ids.entitlement_id(GROUP, gid, MEMBER_SLUG), member_path(gid)

        def started(key: str) -> None:
            state.next_group += 1

        def handle(key: str, page: ListPage) -> None:
            if key == MEMBERS:
                for member in page.items():
                    ctx.sink.resource(user_resource(member))
            else:
                for member in page.items():
                    ctx.sink.grant_to(key, "user", member_principal(member))

        # /members bounds the sync: its 2,000 pages (100,000 members) come one after another.
        return run_chains(
            self.client.unread_page,
            state.cursors,
            handle,
            ctx.deadline,
            self.concurrency,
            new_chains(),
            started,
            critical=MEMBERS,
        )

    def _sync_groups(self, ctx: SyncContext[GuruSyncState]) -> list[str]:
        """Writes every group and its entitlement; returns the group ids for the membership chains."""
        found: list[str] = []
        for page in self.client.pages("groups"):
            for raw in page:
                group = group_resource(raw)
                ctx.sink.resource(group)
                ctx.sink.entitlement(member_entitlement(group))
                found.append(group.id)
        return found
