"""Guru records → snapshot records, as docs/snapshot-format.md's Guru table says."""

from __future__ import annotations

from access_sync.connectors.guru.syncer import group_resource, member_entitlement, member_principal, user_resource

MEMBER = {
    "id": "newuser@example.com",
    "dateCreated": "2025-08-21T20:14:03.839+0000",
    "userAttributes": {"BILLING_TYPE": "CORE"},
    "highestRole": "AUTHOR",
    "user": {
        "id": "77777777-7777-7777-7777-777777777777",
        "status": "PENDING",
        "email": "newuser@example.com",
        "firstName": "New",
        "lastName": "User",
    },
}


def test_a_member_becomes_a_user_keyed_by_member_id_with_the_uuid_in_profile() -> None:
    user = user_resource(MEMBER)
    assert (user.resource_type, user.id, user.display_name) == ("user", "newuser@example.com", "New User")
    assert user.user is not None and user.user.email == "newuser@example.com"
    assert user.profile["user_id"] == "77777777-7777-7777-7777-777777777777"


def test_only_active_members_are_enabled_and_the_raw_status_is_kept() -> None:
    assert user_resource(MEMBER).status == "disabled"
    assert user_resource(MEMBER).profile["status"] == "PENDING"
    active = {**MEMBER, "user": {**MEMBER["user"], "status": "ACTIVE"}}  # type: ignore[dict-item]
    assert user_resource(active).status == "enabled"


def test_a_pending_user_without_a_name_is_shown_by_email() -> None:
    assert user_resource({"id": "p@x.com", "user": {"email": "p@x.com", "status": "PENDING"}}).display_name == "p@x.com"


def test_a_group_has_a_member_entitlement_for_assignment() -> None:
    group = group_resource({"id": "g1", "name": "Experts", "groupIdentifier": "experts", "modifiable": True})
    entitlement = member_entitlement(group)
    assert entitlement.id == "group:g1:member"
    assert (entitlement.purpose, entitlement.slug, entitlement.grantable_to) == ("assignment", "member", ["user"])
    assert entitlement.resource.model_dump() == {"resource_type": "group", "id": "g1"}


def test_a_membership_belongs_to_the_member_id_or_else_the_email() -> None:
    assert member_principal({"id": "jane@company.com", "user": {"email": "jane@company.com"}}) == "jane@company.com"
    assert member_principal({"user": {"email": "no.id@company.com"}}) == "no.id@company.com"
