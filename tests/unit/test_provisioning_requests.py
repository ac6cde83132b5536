"""Parsing provisioning messages: one model per action, a clear reason for anything else."""

from __future__ import annotations

import json

import pytest

from access_sync.models.provisioning import CreateAccountRequest, GrantRequest, Person, Rejection, parse_request
from access_sync.wiring.registry import CONNECTORS


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
