"""Guru group membership changes: grant and revoke of `group:<gid>:member` (docs/provisioning.md)."""

from __future__ import annotations

import re

from access_sync.connectors.guru.client import GuruClient
from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    DeleteResourceRequest,
    GrantRequest,
    Person,
    RevokeRequest,
)

_ENTITLEMENT = re.compile(r"^group:(?P<gid>[^:]+):member$")
_GRANT = re.compile(r"^group:(?P<gid>[^:]+):member:user:(?P<email>[^:]+)$")


class GuruProvisioner:
    def __init__(self, client: GuruClient) -> None:
        self.client = client

    def grant(self, request: GrantRequest) -> ActionResult:
        match = _ENTITLEMENT.match(request.entitlement_id)
        if not match:
            return ActionResult(
                status="failed",
                message=f"Guru can only grant group membership (group:<id>:member), not {request.entitlement_id}.",
            )
        gid = match["gid"]
        principal = request.principal
        email = principal.email if isinstance(principal, Person) else principal.id
        if not isinstance(principal, Person) and principal.resource_type != "user":
            return ActionResult(status="failed", message="Guru group members must be users (resource_type user).")
        response = self.client.add_group_member(gid, email)
        resource = {"group_id": gid, "member": email}
        if response.status_code in (200, 201, 204):
            return ActionResult(status="succeeded", message=f"{email} is a member of group {gid}.", resource=resource)
        if response.status_code == 404:
            return ActionResult(status="failed", message=f"Guru has no group {gid}; check the entitlement id.")
        if response.status_code == 403:
            return ActionResult(
                status="failed",
                message=f"Guru refused to change group {gid}: built-in groups such as All Members cannot be "
                "changed, and the token's owner must be a Guru admin.",
            )
        return ActionResult(
            status="failed",
            message=f"Guru did not add {email} to group {gid} ({self.client.message(response) or 'HTTP 400'}); "
            "invite them to the team first if they are not on it.",
        )

    def revoke(self, request: RevokeRequest) -> ActionResult:
        match = _GRANT.match(request.grant_id)
        if not match:
            return ActionResult(
                status="failed",
                message=f"{request.grant_id} is not a Guru grant id (group:<id>:member:user:<email>).",
            )
        gid, email = match["gid"], match["email"]
        response = self.client.remove_group_member(gid, email)
        resource = {"group_id": gid, "member": email}
        if response.status_code == 404:
            return ActionResult(
                status="already_done", message=f"{email} is not a member of group {gid}.", resource=resource
            )
        if response.status_code == 403:
            return ActionResult(
                status="failed",
                message=f"Guru refused to change group {gid}: built-in groups such as All Members cannot be changed.",
            )
        return ActionResult(status="succeeded", message=f"{email} was removed from group {gid}.", resource=resource)

    def create_account(self, request: CreateAccountRequest) -> ActionResult:
        return ActionResult(
            status="unsupported",
            message="access-sync provisions Guru group membership only; invite people to the team in Guru.",
        )

    def delete_resource(self, request: DeleteResourceRequest) -> ActionResult:
        return ActionResult(
            status="unsupported",
            message="access-sync provisions Guru group membership only; remove people from the team in Guru.",
        )

    def close(self) -> None:
        self.client.close()
