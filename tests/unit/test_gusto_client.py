"""GustoClient: the pinned version, Gusto's error bodies as one sentence, and the calls provisioning needs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from access_sync.connectors.gusto.client import API_VERSION, GustoApiError, GustoClient, gusto_error
from access_sync.errors import ConfigurationError, CredentialsError
from access_sync_sim.gusto import GustoSimulator
from tests.gusto_support import Wire, gusto_client, token_manager, write_credentials


@pytest.fixture
def sim() -> GustoSimulator:
    return GustoSimulator(employees=20, contractors=4, admins=3)


@pytest.fixture
def wire(sim: GustoSimulator) -> Wire:
    return Wire(sim)


@pytest.fixture
def client(tmp_path: Path, sim: GustoSimulator, wire: Wire) -> GustoClient:
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    return gusto_client(token_manager(store, wire), wire)


def answer(status: int, body: object, method: str = "GET", path: str = "/v1/x") -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request(method, f"http://gusto.test{path}"))


def test_every_request_pins_the_api_version(client: GustoClient, wire: Wire) -> None:
    client.company(client.company_uuid())
    assert {request.headers["X-Gusto-API-Version"] for request in wire.requests} == {API_VERSION}


def test_error_bodies_become_one_sentence() -> None:
    onboarded = answer(
        422,
        {
            "errors": [
                {"error_key": "base", "category": "invalid_operation", "message": "Cannot delete onboarded employee"}
            ]
        },
        "DELETE",
        "/v1/employees/e1",
    )
    error = gusto_error(onboarded)
    assert isinstance(error, GustoApiError)
    assert error.message == (
        "Gusto answered 422 to DELETE /v1/employees/e1 (invalid_operation: Cannot delete onboarded employee)."
    )
    assert error.status == 422 and error.categories == {"invalid_operation"}

    two = answer(
        422,
        {
            "errors": [
                {"error_key": "email", "category": "invalid_attribute_value", "message": "User has already been taken"},
                {"error_key": "last_name", "category": "missing_parameter", "message": "last_name is required."},
            ]
        },
        "POST",
    )
    assert gusto_error(two).message.endswith(
        "(invalid_attribute_value: User has already been taken; missing_parameter: last_name is required)."
    )
    assert gusto_error(answer(500, "oops")).message == "Gusto answered 500 to GET /v1/x."


def test_a_missing_scope_and_an_old_version_say_what_to_do() -> None:
    scope = {
        "errors": [
            {
                "error_key": "base",
                "category": "missing_oauth_scopes",
                "message": "The access token is missing the required scope.",
                "metadata": {"missing_scope_name": "company_admin:read"},
            }
        ]
    }
    error = gusto_error(answer(403, scope))
    assert isinstance(error, CredentialsError)
    assert "lacks the OAuth scope company_admin:read" in error.message
    version = {
        "errors": [{"error_key": "request", "category": "invalid_api_version", "message": "Invalid API version"}]
    }
    assert isinstance(gusto_error(answer(406, version)), ConfigurationError)


def test_reading_people(client: GustoClient, sim: GustoSimulator) -> None:
    company = client.company_uuid()
    employees = list(client.all_pages(client.employees_url(company)))
    contractors = list(client.all_pages(client.contractors_url(company)))
    assert len(employees) == 20 and len(contractors) == 4
    assert client.get_employee(employees[0]["uuid"]) == sim.employee(employees[0]["uuid"])
    assert client.get_contractor(contractors[0]["uuid"]) == contractors[0]
    assert client.get_employee("00000000-0000-4000-8000-000000000000") is None
    assert client.get_contractor("00000000-0000-4000-8000-000000000000") is None


def test_provisioning_calls(client: GustoClient, sim: GustoSimulator) -> None:
    company = client.company_uuid()
    admin = client.create_admin(company, "Ada", "Lovelace", "ada@example.test")
    assert admin["email"] == "ada@example.test" and "ada@example.test" in sim.admin_emails()
    with pytest.raises(GustoApiError) as taken:
        client.create_admin(company, "Ada", "Lovelace", "ADA@example.test")
    assert taken.value.status == 422 and "User has already been taken" in taken.value.message

    employee = client.create_employee(company, {"first_name": "New", "last_name": "Hire", "email": "new@example.test"})
    assert sim.employee(employee["uuid"]) is not None
    assert client.delete_employee(employee["uuid"]) is True
    assert client.delete_employee(employee["uuid"]) is False  # already gone

    onboarded = next(
        person for person in client.all_pages(client.employees_url(company)) if person["onboarded"] is True
    )
    with pytest.raises(GustoApiError) as refused:
        client.delete_employee(onboarded["uuid"])
    assert refused.value.categories == {"invalid_operation"}
    assert sim.mutations == [
        ("POST", f"/v1/companies/{company}/admins"),
        ("POST", f"/v1/companies/{company}/employees"),
        ("DELETE", f"/v1/employees/{employee['uuid']}"),
    ]


def test_create_admin_on_an_app_integrations_grant(tmp_path: Path) -> None:
    sim = GustoSimulator(embedded_admin_api=False)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    client = gusto_client(token_manager(store, sim.transport()), sim.transport())
    with pytest.raises(GustoApiError) as caught:
        client.create_admin(client.company_uuid(), "Ada", "Lovelace", "ada@example.test")
    assert caught.value.status == 403 and caught.value.categories == {"missing_permissions"}
    assert "Gusto Embedded" in caught.value.message
