"""Parsing provisioning messages: one model per action, a clear reason for anything else."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from access_sync.models.provisioning import (
    CreateAccountRequest,
    GrantEnd,
    GrantRequest,
    Person,
    Rejection,
    RevokeRequest,
    parse_request,
)
from access_sync.wiring.registry import CONNECTORS, NO_GRANT_END


def test_a_grant_to_an_inline_person_parses() -> None:
    body = {
        "request_id": "r-1",
        "connector": "gusto",
        "action": "grant",
        "entitlement_id": "company:c:admin",
        "principal": {"email": "a@x.com", "first_name": "A", "last_name": "B"},
    }
    parsed = parse_request(json.dumps(body), CONNECTORS)
    assert isinstance(parsed, GrantRequest) and isinstance(parsed.principal, Person)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "the body is not JSON"),
        ("[1, 2]", "the body must be a JSON object"),
        ('{"request_id": "r", "connector": "gusto", "action": "explode"}', "unknown action 'explode'"),
        ('{"request_id": "r", "connector": "okta", "action": "revoke", "grant_id": "x"}', "connector"),
        ('{"request_id": "r", "connector": "gusto", "action": "revoke"}', "grant_id: Field required"),
        (
            '{"request_id": "r", "connector": "gusto", "action": "create_account",'
            ' "account": {"first_name": "A", "last_name": "B", "self_onboarding": true}}',
            "account.email is required when self_onboarding is true",
        ),
        (
            '{"request_id": "r", "connector": "guru", "action": "delete_resource",'
            ' "resource": {"resource_type": "widget", "id": "w"}}',
            "unknown resource_type 'widget' for guru; use one of user, group",
        ),
        (
            '{"request_id": "r", "connector": "gusto", "action": "grant", "entitlement_id": "company:c:admin",'
            ' "principal": {"resource_type": "member", "id": "m"}}',
            "unknown resource_type 'member' for gusto; use one of company, employee, contractor, user",
        ),
    ],
)
def test_malformed_requests_are_rejected_with_the_reason(body: str, reason: str) -> None:
    parsed = parse_request(body, CONNECTORS)
    assert isinstance(parsed, Rejection) and reason in parsed.reason and parsed.raw_body == body


def test_a_body_without_usable_request_id_is_filed_under_its_hash() -> None:
    parsed = parse_request('{"request_id": "../../etc", "connector": "guru", "action": "grant"}', CONNECTORS)
    assert isinstance(parsed, Rejection) and parsed.request_id.startswith("rejected-")
    assert len(parsed.request_id) == len("rejected-") + 16


def test_a_usable_request_id_is_kept_even_when_the_rest_is_wrong() -> None:
    parsed = parse_request('{"request_id": "keep-me", "connector": "guru", "action": "grant"}', CONNECTORS)
    assert isinstance(parsed, Rejection) and parsed.request_id == "keep-me"


def test_unknown_fields_are_rejected_rather_than_ignored() -> None:
    body = {
        "request_id": "r",
        "connector": "gusto",
        "action": "create_account",
        "account": {"first_name": "A", "last_name": "B"},
        "acount": {},
    }
    assert isinstance(parse_request(json.dumps(body), CONNECTORS), Rejection)
    del body["acount"]
    assert isinstance(parse_request(json.dumps(body), CONNECTORS), CreateAccountRequest)


# Time-bound grants ------------------------------------------------------------------------------------------


def guru_grant(**end: object) -> str:
    return json.dumps(
        {
            "request_id": "tb-1",
            "connector": "guru",
            "action": "grant",
            "entitlement_id": "group:g1:member",
            "principal": {"resource_type": "user", "id": "ann@example.com"},
            **end,
        }
    )


def test_an_end_is_read_in_utc_to_the_second() -> None:
    parsed = parse_request(guru_grant(expires_at="2026-12-01T19:00:00.75+01:00"), CONNECTORS)
    assert isinstance(parsed, GrantRequest) and parsed.time_bound
    assert parsed.expires_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert parsed.end_after(datetime(2026, 11, 1, tzinfo=UTC)) == parsed.expires_at


def test_a_duration_counts_from_the_moment_of_the_grant() -> None:
    parsed = parse_request(guru_grant(duration="PT8H"), CONNECTORS)
    assert isinstance(parsed, GrantRequest) and parsed.duration == timedelta(hours=8)
    assert parsed.end_after(datetime(2026, 12, 1, 9, 30, 5, 900, tzinfo=UTC)) == datetime(
        2026, 12, 1, 17, 30, 5, tzinfo=UTC
    )


def test_a_grant_without_an_end_is_not_time_bound_and_names_its_grant() -> None:
    parsed = parse_request(guru_grant(), CONNECTORS)
    assert isinstance(parsed, GrantRequest) and not parsed.time_bound and parsed.end_after(datetime.now(UTC)) is None
    assert parsed.grant_id == "group:g1:member:user:ann@example.com"


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        ({"expires_at": "2026-12-01T18:00:00Z", "duration": "PT8H"}, "give expires_at or duration, not both"),
        ({"duration": "8 hours"}, "duration: must be an ISO-8601 duration"),
        ({"duration": "P1M"}, "duration: must be an ISO-8601 duration"),  # a month has no fixed length
        ({"duration": "08:00:00"}, "duration: must be an ISO-8601 duration"),
        ({"duration": "PT0S"}, "duration: must be at least one second"),
        ({"duration": 3600}, "duration: must be an ISO-8601 duration"),
        ({"expires_at": "2026-12-01T18:00:00"}, "expires_at: must include a time zone"),
        ({"expires_at": "next tuesday"}, "expires_at: Input should be a valid datetime"),
        ({"expires_at": 1795348800}, "expires_at: must be ISO-8601 text"),
    ],
)
def test_an_end_that_cannot_be_read_is_rejected_saying_which(end: dict[str, object], reason: str) -> None:
    parsed = parse_request(guru_grant(**end), CONNECTORS)
    assert isinstance(parsed, Rejection) and reason in parsed.reason, parsed
    assert parsed.request_id == "tb-1"


def test_a_gusto_admin_grant_with_an_end_is_rejected_because_gusto_cannot_remove_admins() -> None:
    body = {
        "request_id": "tb-2",
        "connector": "gusto",
        "action": "grant",
        "entitlement_id": "company:c:admin",
        "principal": {"resource_type": "employee", "id": "e"},
        "duration": "PT8H",
    }
    parsed = parse_request(json.dumps(body), CONNECTORS, NO_GRANT_END)
    assert isinstance(parsed, Rejection) and "Gusto has no API to remove a company admin" in parsed.reason
    del body["duration"]
    assert isinstance(parse_request(json.dumps(body), CONNECTORS, NO_GRANT_END), GrantRequest)


def test_a_revoke_may_say_why_and_only_a_derived_expire_id_marks_the_end_of_a_grant() -> None:
    body = {"request_id": "expire:0123", "connector": "guru", "action": "revoke", "grant_id": "g", "reason": "expired"}
    parsed = parse_request(json.dumps(body), CONNECTORS)
    assert isinstance(parsed, RevokeRequest) and parsed.ends_a_grant
    manual = parse_request(json.dumps({**body, "request_id": "offboard-7"}), CONNECTORS)
    assert isinstance(manual, RevokeRequest) and not manual.ends_a_grant


def test_an_end_is_named_from_the_grant_and_its_revoke_from_the_grant_and_the_end() -> None:
    end = GrantEnd(
        grant_id="group:g1:member:user:ann@example.com",
        connector="guru",
        expires_at="2026-12-01T18:00:00Z",
        granted_by="tb-1",
    )
    digest = hashlib.sha256(b"group:g1:member:user:ann@example.com").hexdigest()[:32]
    assert end.name == f"expire-{digest}"
    pair = hashlib.sha256(b"group:g1:member:user:ann@example.com|2026-12-01T18:00:00Z").hexdigest()[:32]
    assert end.revoke_request() == {
        "request_id": f"expire:{pair}",
        "connector": "guru",
        "action": "revoke",
        "grant_id": "group:g1:member:user:ann@example.com",
        "reason": "expired",
    }
    assert isinstance(parse_request(json.dumps(end.revoke_request()), CONNECTORS), RevokeRequest)
