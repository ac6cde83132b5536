"""Guru group membership changes: grant and revoke of `group:<gid>:member` (docs/provisioning.md)."""

from __future__ import annotations

from access_sync.connectors.guru.client import GuruClient, Membership
from access_sync.connectors.guru.syncer import GROUP, MEMBER_SLUG
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
            return ActionResult(status="succeeded", message=f"{email} is a member of group {gid}.", resource=resource)
        if answer.outcome is Membership.NO_GROUP:
            return ActionResult(status="failed", message=f"Guru has no group {gid}; check the entitlement id.")
        if answer.outcome is Membership.FORBIDDEN:
            return ActionResult(
                status="failed",
                message=f"Guru refused to change group {gid}: built-in groups such as All Members cannot be "
                "changed, and the token's owner must be a Guru admin.",
            )
        return ActionResult(
            status="failed",
            message=f"Guru did not add {email} to group {gid} ({answer.detail}); "
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
                status="already_done", message=f"{email} is not a member of group {gid}.", resource=resource
            )
        if answer.outcome is Membership.FORBIDDEN:
            return ActionResult(
                status="failed",
                message=f"Guru refused to change group {gid}: built-in groups such as All Members cannot be changed.",
            )
        return ActionResult(status="succeeded", message=f"{email} was removed from group {gid}.", resource=resource)

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
