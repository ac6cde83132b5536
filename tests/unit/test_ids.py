"""Id formats are contracts: built and parsed in one place, and ids with colons or `@` survive the round trip."""

from __future__ import annotations

import pytest

from access_sync.models import ids
from access_sync.models.snapshot import Entitlement, Grant, ResourceRef, grant_line


def test_built_forms_match_the_documented_ones() -> None:
    assert ids.resource_key("user", "ann@example.com") == "user:ann@example.com"
    assert ids.entitlement_id("group", "g1", "member") == "group:g1:member"
    assert ids.grant_id("group:g1:member", "user", "ann@example.com") == "group:g1:member:user:ann@example.com"


@pytest.mark.parametrize(
    ("resource_id", "principal_id"),
    [
        ("g1", "ann@example.com"),
        ("team:eng", "ann@example.com"),  # a colon in the resource id
        ("g1", "urn:guru:ann@example.com"),  # colons in the principal id
        ("a:b:c", "x:y@z.test"),  # both
        ("7c1e2b9a-0000-4000-8000-000000000000", "o'brien+guru@example.co.uk"),
    ],
)
def test_grant_ids_with_colons_and_at_signs_parse_back(resource_id: str, principal_id: str) -> None:
    entitlement = ids.entitlement_id("group", resource_id, "member")
    grant = ids.grant_id(entitlement, "user", principal_id)
    parsed = ids.parse_grant_id(grant, "group", "member", ("user",))
    assert parsed is not None
    assert parsed.entitlement == ids.EntitlementKey("group", resource_id, "member")
    assert (parsed.principal_type, parsed.principal_id) == ("user", principal_id)
    assert str(parsed) == grant
    assert ids.parse_entitlement_id(entitlement, "group", "member") == parsed.entitlement
    assert str(parsed.entitlement) == entitlement


def test_the_principal_type_is_one_of_those_the_caller_allows() -> None:
    grant = "company:c1:admin:contractor:k-9"
    parsed = ids.parse_grant_id(grant, "company", "admin", ("employee", "contractor", "user"))
    assert parsed is not None and (parsed.principal_type, parsed.principal_id) == ("contractor", "k-9")
    assert ids.parse_grant_id(grant, "company", "admin", ("employee",)) is None


@pytest.mark.parametrize(
    "value",
    ["group::member", "group:g1:admin", "company:g1:member", "g1:member", "group:g1:member:user:", "group:g1"],
)
def test_other_shapes_do_not_parse(value: str) -> None:
    assert ids.parse_entitlement_id(value, "group", "member") is None
    assert ids.parse_grant_id(value, "group", "member", ("user",)) is None


def test_models_and_the_fast_grant_line_build_ids_through_the_module() -> None:
    group = ResourceRef(resource_type="group", id="a:b")
    entitlement = Entitlement.for_resource(group, "member", "assignment", "A member", ["user"])
    assert entitlement.id == "group:a:b:member"
    principal = ResourceRef(resource_type="user", id="x:y@z.test")
    grant = Grant.of(entitlement.id, principal)
    assert grant.id == "group:a:b:member:user:x:y@z.test"
    assert grant_line(entitlement.id, "user", "x:y@z.test") == grant.to_line()
