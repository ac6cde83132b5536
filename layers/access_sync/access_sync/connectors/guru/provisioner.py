"""Guru group membership changes: grant and revoke of `group:<gid>:member` (docs/provisioning.md).

Messages name a group by its name, which the provisioner looks up (GET /groups, once, and again for a group it
has not seen) after the change; the group's id stands in when the lookup fails.
"""

from __future__ import annotations

from access_sync.connectors.guru.client import GuruClient, Membership
from access_sync.connectors.guru.syncer import GROUP, MEMBER_SLUG
from access_sync.errors import AccessSyncError
from access_sync.models import ids
from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    DeleteResourceRequest,
    GrantRequest,
    Person,
    RevokeRequest,
)


class GuruProvisioner:
    def __init__(self, client: GuruClient) -> None:
        self.client = client
        self._group_names: dict[str, str] = {}

    def _group(self, gid: str) -> str:
        """`group "Engineering"`, or `group <gid>` when Guru's group list cannot be read."""
        if gid not in self._group_names:
            try:
                for page in self.client.pages("groups"):
                    for group in page:
                        if group.get("id") and group.get("name"):
                            self._group_names[str(group["id"])] = str(group["name"])
            except AccessSyncError:
                pass  # only the message suffers: the change is made
        name = self._group_names.get(gid)
        return f'group "{name}"' if name else f"group {gid}"

    def grant(self, request: GrantRequest, redelivered: bool = False) -> ActionResult:
        entitlement = ids.parse_entitlement_id(request.entitlement_id, GROUP, MEMBER_SLUG)
        if entitlement is None:
            return ActionResult(
                status="failed",
                message=f"Guru can only grant group membership (group:<id>:member), not {request.entitlement_id}.",
            )
        gid = entitlement.resource_id
        principal = request.principal
        email = principal.email if isinstance(principal, Person) else principal.id
        if not isinstance(principal, Person) and principal.resource_type != "user":
            return ActionResult(status="failed", message="Guru group members must be users (resource_type user).")
        answer = self.client.add_group_member(gid, email)
        resource = {"group_id": gid, "member": email}
        if answer.outcome is Membership.CHANGED:
            return ActionResult(
                status="succeeded", message=f"{email} is a member of {self._group(gid)}.", resource=resource
            )
        if answer.outcome is Membership.NO_GROUP:
            return ActionResult(status="failed", message=f"Guru has no group {gid}; check the entitlement id.")
        if answer.outcome is Membership.FORBIDDEN:
            return ActionResult(
                status="failed",
                message=f"Guru refused to change {self._group(gid)}: built-in groups such as All Members cannot "
                "be changed, and the token's owner must be a Guru admin.",
            )
        return ActionResult(
            status="failed",
            message=f"Guru did not add {email} to {self._group(gid)} ({answer.detail}); "
            "invite them to the team first if they are not on it.",
        )

    def revoke(self, request: RevokeRequest, redelivered: bool = False) -> ActionResult:
        grant = ids.parse_grant_id(request.grant_id, GROUP, MEMBER_SLUG, ("user",))
        if grant is None:
            return ActionResult(
                status="failed",
                message=f"{request.grant_id} is not a Guru grant id (group:<id>:member:user:<email>).",
            )
        gid, email = grant.entitlement.resource_id, grant.principal_id
        answer = self.client.remove_group_member(gid, email)
        resource = {"group_id": gid, "member": email}
        if answer.outcome is Membership.NOT_MEMBER:
            return ActionResult(
                status="already_done", message=f"{email} is not a member of {self._group(gid)}.", resource=resource
            )
        if answer.outcome is Membership.FORBIDDEN:
            return ActionResult(
                status="failed",
                message=f"Guru refused to change {self._group(gid)}: built-in groups such as All Members cannot be "
                "changed.",
            )
        return ActionResult(
            status="succeeded", message=f"{email} was removed from {self._group(gid)}.", resource=resource
        )

    def create_account(self, request: CreateAccountRequest, redelivered: bool = False) -> ActionResult:
        return ActionResult(
            status="unsupported",
            message="access-sync provisions Guru group membership only; invite people to the team in Guru.",
        )

    def delete_resource(self, request: DeleteResourceRequest, redelivered: bool = False) -> ActionResult:
        return ActionResult(
            status="unsupported",
            message="access-sync provisions Guru group membership only; remove people from the team in Guru.",
        )

    def close(self) -> None:
        self.client.close()
