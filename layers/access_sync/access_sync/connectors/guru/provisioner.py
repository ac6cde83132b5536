"""Guru changes (docs/provisioning.md): grant and revoke of `group:<gid>:member`, inviting people to the team
(`create_account`) and removing them from it (`delete_resource` of a user).

Team changes look before they act, so a repeated request finds its change made and says `already_done`.
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
    NewAccount,
    Person,
    RevokeRequest,
)

VERIFIER_WARNING = (
    "Guru drops the member's verifier assignments: the cards they verified need a new verifier, and inviting "
    "them again does not bring the assignments back"
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
        account = request.account
        if isinstance(account, NewAccount):
            email, member_type = account.work_email or account.email, "CORE"
        else:
            email, member_type = account.email, account.member_type
        if not email:
            return ActionResult(status="failed", message="Guru invites people by email; give account.email.")
        resource = {"resource_type": "user", "id": email}
        if self.client.is_on_team(email):
            return ActionResult(
                status="already_done", message=f"{email} is already on the Guru team.", resource=resource
            )
        answer = self.client.invite(email, member_type)
        if answer.outcome is Membership.FORBIDDEN:
            return ActionResult(
                status="failed", message="Guru refused the invite: the token's owner must be a Guru admin."
            )
        if answer.outcome is Membership.REFUSED:
            if self.client.is_on_team(email):  # invited in the meantime, e.g. by an earlier delivery
                return ActionResult(
                    status="already_done", message=f"{email} is already on the Guru team.", resource=resource
                )
            return ActionResult(status="failed", message=f"Guru did not invite {email} ({answer.detail}).")
        return ActionResult(
            status="succeeded",
            message=f"{email} was invited to the Guru team as a {member_type} member; the account stays pending "
            "until they accept.",
            resource=resource,
        )

    def delete_resource(self, request: DeleteResourceRequest, redelivered: bool = False) -> ActionResult:
        target = request.resource
        if target.resource_type != "user":
            return ActionResult(
                status="unsupported",
                message=f"Guru can only remove users from its team, not a {target.resource_type}; "
                "delete groups in Guru.",
            )
        email = target.id
        resource = {"resource_type": "user", "id": email}
        answer = self.client.remove_from_team(email)
        if answer.outcome is Membership.NOT_MEMBER:
            return ActionResult(status="already_done", message=f"{email} is not on the Guru team.", resource=resource)
        if answer.outcome is Membership.FORBIDDEN:
            return ActionResult(
                status="failed",
                message=f"Guru refused to remove {email}: the token's owner must be a Guru admin.",
                resource=resource,
            )
        return ActionResult(
            status="succeeded",
            message=f"{email} was removed from the Guru team with all their groups; {VERIFIER_WARNING}.",
            resource=resource,
        )

    def close(self) -> None:
        self.client.close()
