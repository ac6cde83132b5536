"""The Gusto simulator behaves like Gusto's published API: OAuth rotation, paging, limits and error bodies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from access_sync_sim.gusto import CLIENT_ID, CLIENT_SECRET, INVALID_GRANT, GustoSimulator

START = 1_800_000_000.0
VERSION = "2025-06-15"
REDIRECT_URI = "https://app.example.test/callback"


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> GustoSimulator:
    return GustoSimulator(clock=clock)


@pytest.fixture
def http(sim: GustoSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sim.transport(), base_url="http://gusto.test") as client:
        yield client


def api_client(sim: GustoSimulator, access_token: str) -> httpx.Client:
    return httpx.Client(
        transport=sim.transport(),
        base_url="http://gusto.test",
        headers={"Authorization": f"Bearer {access_token}", "X-Gusto-API-Version": VERSION},
    )


@pytest.fixture
def api(sim: GustoSimulator) -> Iterator[httpx.Client]:
    with api_client(sim, sim.issue_credentials()["access_token"]) as client:
        yield client


def refresh(http: httpx.Client, refresh_token: str) -> httpx.Response:
    return http.post(
        "/oauth/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_category(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["category"])


# ---------------------------------------------------------------------- OAuth


def test_issued_credentials_have_the_secret_shape(sim: GustoSimulator) -> None:
    creds = sim.issue_credentials(environment="production")
    assert set(creds) == {
        "client_id",
        "client_secret",
        "refresh_token",
        "access_token",
        "access_token_expires_at",
        "environment",
    }
    assert creds["environment"] == "production"
    assert creds["access_token_expires_at"] == "2027-01-15T10:00:00Z"  # START + 7200 s
    assert sim.refresh_token_valid(creds["refresh_token"])


def test_strict_rotation_refresh_token_works_once(sim: GustoSimulator, http: httpx.Client) -> None:
    creds = sim.issue_credentials()
    first = refresh(http, creds["refresh_token"])
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert body["created_at"] == int(START)
    assert body["scope"] == sim.scopes
    assert body["refresh_token"] != creds["refresh_token"]

    again = refresh(http, creds["refresh_token"])
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": INVALID_GRANT}
    assert sim.valid_refresh_tokens() == [body["refresh_token"]]
    assert sim.refresh_count == 1
    assert sim.token_endpoint_calls == 2
    # The refreshed-away pair is dead; the new access token works.
    assert http.get("/v1/token_info", headers=bearer(creds["access_token"])).status_code == 401
    assert http.get("/v1/token_info", headers=bearer(body["access_token"])).status_code == 200


def test_grace_mode_old_refresh_token_lives_until_new_access_token_is_used(clock: FakeClock) -> None:
    sim = GustoSimulator(grace_until_first_use=True, clock=clock)
    creds = sim.issue_credentials()
    with httpx.Client(transport=sim.transport(), base_url="http://gusto.test") as http:
        first = refresh(http, creds["refresh_token"]).json()
        repeat = refresh(http, creds["refresh_token"])  # e.g. the first response was lost
        assert repeat.status_code == 200
        second = repeat.json()
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"]
        # The old access token also keeps working until the new one is used.
        assert http.get("/v1/token_info", headers=bearer(creds["access_token"])).status_code == 200

        assert http.get("/v1/token_info", headers=bearer(second["access_token"])).status_code == 200
        assert not sim.refresh_token_valid(creds["refresh_token"])
        assert refresh(http, creds["refresh_token"]).json()["error"] == "invalid_grant"
        assert http.get("/v1/token_info", headers=bearer(creds["access_token"])).status_code == 401
        assert refresh(http, second["refresh_token"]).status_code == 200
    assert sim.refresh_count == 3


def test_access_token_expires(sim: GustoSimulator, clock: FakeClock, api: httpx.Client) -> None:
    assert api.get("/v1/token_info").status_code == 200
    clock.advance(7199)
    assert api.get("/v1/token_info").status_code == 200
    clock.advance(1)
    expired = api.get("/v1/token_info")
    assert expired.status_code == 401
    assert error_category(expired) == "invalid_token"
    assert expired.headers["WWW-Authenticate"].startswith("Bearer")


def test_custom_token_lifetime(clock: FakeClock) -> None:
    sim = GustoSimulator(access_token_ttl=60, clock=clock)
    with api_client(sim, sim.issue_credentials()["access_token"]) as api:
        clock.advance(60)
        assert api.get("/v1/token_info").status_code == 401


def test_token_endpoint_accepts_form_bodies_and_basic_auth(sim: GustoSimulator, http: httpx.Client) -> None:
    creds = sim.issue_credentials()
    response = http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_token_endpoint_rejects_bad_clients_and_query_secrets(sim: GustoSimulator, http: httpx.Client) -> None:
    token = sim.issue_credentials()["refresh_token"]
    wrong = http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(CLIENT_ID, "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"

    in_query = http.post(
        "/oauth/token",
        params={"client_secret": CLIENT_SECRET},
        data={"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": token},
    )
    assert in_query.status_code == 400

    unknown = http.post(
        "/oauth/token",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "password"},
    )
    assert unknown.json()["error"] == "unsupported_grant_type"
    assert sim.refresh_token_valid(token)  # none of those consumed it


def test_revoke_all_disconnects(sim: GustoSimulator, http: httpx.Client) -> None:
    creds = sim.issue_credentials()
    sim.revoke_all()
    assert refresh(http, creds["refresh_token"]).json()["error"] == "invalid_grant"
    assert http.get("/v1/token_info", headers=bearer(creds["access_token"])).status_code == 401
    assert sim.valid_refresh_tokens() == []


def test_oauth_revoke_endpoint(sim: GustoSimulator, http: httpx.Client) -> None:
    creds = sim.issue_credentials()
    body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": creds["access_token"]}
    assert http.post("/oauth/revoke", json=body).status_code == 200
    assert not sim.refresh_token_valid(creds["refresh_token"])


def authorize(http: httpx.Client, **overrides: str) -> httpx.Response:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", "state": "xyz"}
    return http.get("/oauth/authorize", params={**params, **overrides})


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def exchange(http: httpx.Client, code: str, redirect_uri: str = REDIRECT_URI) -> httpx.Response:
    return http.post(
        "/oauth/token",
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        },
    )


def test_authorization_code_flow(sim: GustoSimulator, http: httpx.Client) -> None:
    params = redirect_params(authorize(http))
    assert params["state"] == "xyz"
    tokens = exchange(http, params["code"])
    assert tokens.status_code == 200
    assert sim.refresh_token_valid(tokens.json()["refresh_token"])
    info = http.get("/v1/token_info", headers=bearer(tokens.json()["access_token"])).json()
    assert info["resource"] == {"type": "Company", "uuid": sim.company_uuid}
    assert info["resource_owner"]["type"] == "CompanyAdmin"

    reused = exchange(http, params["code"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_authorization_code_expires_and_must_match_redirect(
    sim: GustoSimulator, clock: FakeClock, http: httpx.Client
) -> None:
    code = redirect_params(authorize(http))["code"]
    assert exchange(http, code, redirect_uri="https://elsewhere.test/cb").json()["error"] == "invalid_grant"
    clock.advance(600)
    assert exchange(http, code).json()["error"] == "invalid_grant"


def test_authorize_denied_and_unknown_client(sim: GustoSimulator, http: httpx.Client) -> None:
    assert authorize(http, client_id="someone-else").status_code == 400
    sim.deny_consent = True
    params = redirect_params(authorize(http))
    assert params["error"] == "access_denied"
    assert params["state"] == "xyz"
    assert "code" not in params


# ---------------------------------------------------------------------- API basics


def test_company_and_version_headers(sim: GustoSimulator, api: httpx.Client) -> None:
    company = api.get(f"/v1/companies/{sim.company_uuid}")
    assert company.status_code == 200
    assert company.headers["X-Gusto-API-Version"] == VERSION
    body = company.json()
    assert body["uuid"] == sim.company_uuid
    assert body["company_status"] == "Approved"
    assert body["primary_payroll_admin"]["email"] == sim.admin_emails()[0]

    newest = api.get("/v1/token_info", headers={"X-Gusto-API-Version": "2026-06-15"})
    assert newest.headers["X-Gusto-API-Version"] == "2026-06-15"
    sunset = api.get("/v1/token_info", headers={"X-Gusto-API-Version": "2024-04-01"})
    assert sunset.status_code == 406
    assert sunset.json()["errors"][0]["error_key"] == "request"
    assert error_category(sunset) == "invalid_api_version"


def test_wrong_company_and_unknown_records_are_404(sim: GustoSimulator, api: httpx.Client) -> None:
    other = "00000000-0000-4000-8000-000000000000"
    for path in (
        f"/v1/companies/{other}",
        f"/v1/companies/{other}/employees",
        f"/v1/employees/{other}",
        f"/v1/contractors/{other}",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json() == {
            "errors": [
                {
                    "error_key": "request",
                    "category": "not_found",
                    "message": "The requested resource was not found.",
                }
            ]
        }


def test_missing_scope_is_403(clock: FakeClock) -> None:
    sim = GustoSimulator(scopes="companies:read employees:read", clock=clock)
    with api_client(sim, sim.issue_credentials()["access_token"]) as api:
        response = api.get(f"/v1/companies/{sim.company_uuid}/admins")
        assert response.status_code == 403
        error = response.json()["errors"][0]
        assert error["category"] == "missing_oauth_scopes"
        assert error["metadata"] == {"missing_scope_name": "company_admin:read"}
        assert "primary_payroll_admin" not in api.get(f"/v1/companies/{sim.company_uuid}").json()


def test_missing_or_malformed_bearer_is_401(http: httpx.Client) -> None:
    assert http.get("/v1/token_info").status_code == 401
    assert http.get("/v1/token_info", headers=bearer("nope")).json()["errors"][0]["category"] == "invalid_token"


# ---------------------------------------------------------------------- paging and rate limits


def test_paging_headers(clock: FakeClock) -> None:
    sim = GustoSimulator(employees=60, clock=clock)
    with api_client(sim, sim.issue_credentials()["access_token"]) as api:
        path = f"/v1/companies/{sim.company_uuid}/employees"
        page2 = api.get(path, params={"page": 2, "per": 25})
        assert len(page2.json()) == 25
        assert (page2.headers["X-Page"], page2.headers["X-Per-Page"]) == ("2", "25")
        assert (page2.headers["X-Total-Count"], page2.headers["X-Total-Pages"]) == ("60", "3")
        assert len(api.get(path, params={"page": 3}).json()) == 10  # per defaults to 25
        assert api.get(path, params={"page": 4}).json() == []

        everything = api.get(path)
        assert len(everything.json()) == 60
        assert "X-Total-Pages" not in everything.headers
        paged = [e["uuid"] for page in (1, 2, 3) for e in api.get(path, params={"page": page}).json()]
        assert paged == [e["uuid"] for e in everything.json()]


def test_per_is_clamped_to_100(clock: FakeClock) -> None:
    sim = GustoSimulator(employees=150, clock=clock)
    with api_client(sim, sim.issue_credentials()["access_token"]) as api:
        response = api.get(f"/v1/companies/{sim.company_uuid}/employees", params={"page": 1, "per": 500})
        assert response.headers["X-Per-Page"] == "100"
        assert response.headers["X-Total-Pages"] == "2"
        assert len(response.json()) == 100


def test_rate_limit_rolling_window(sim: GustoSimulator, clock: FakeClock, api: httpx.Client) -> None:
    for sent in range(200):
        response = api.get("/v1/token_info")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "200"
        assert response.headers["X-RateLimit-Remaining"] == str(199 - sent)
        clock.advance(0.25)  # 200 requests over 50 s

    limited = api.get("/v1/token_info")
    assert limited.status_code == 429
    assert limited.json() == {
        "errors": [{"error_key": "base", "category": "rate_limit_exceeded", "message": "Rate limit exceeded"}]
    }
    assert limited.headers["Retry-After"] == "10"  # the first request leaves the window at START + 60
    assert limited.headers["X-RateLimit-Remaining"] == "0"

    clock.advance(10)
    assert api.get("/v1/token_info").status_code == 200  # the first request has left the window
    assert api.get("/v1/token_info").status_code == 429
    clock.advance(60)
    assert api.get("/v1/token_info").status_code == 200


# ---------------------------------------------------------------------- generated data


def test_generated_company_mix(sim: GustoSimulator, api: httpx.Client) -> None:
    employees = api.get(f"/v1/companies/{sim.company_uuid}/employees").json()
    contractors = api.get(f"/v1/companies/{sim.company_uuid}/contractors").json()
    admins = api.get(f"/v1/companies/{sim.company_uuid}/admins").json()
    assert len(employees) == 30 and len(contractors) == 8 and len(admins) == 4

    assert any(e["terminated"] and e["terminations"] for e in employees)
    assert any(not e["onboarded"] and e["onboarding_status"] != "onboarding_completed" for e in employees)
    assert all(e["company_uuid"] == sim.company_uuid and e["jobs"] for e in employees)
    assert {c["type"] for c in contractors} == {"Individual", "Business"}
    assert all(c["email"] is None and c["business_name"] for c in contractors if c["type"] == "Business")
    assert any(not c["is_active"] for c in contractors)

    employee_emails = {e["email"] for e in employees}
    contractor_emails = {c["email"] for c in contractors if c["email"]}
    by_case = [a for a in admins if a["email"] not in employee_emails and a["email"].lower() in employee_emails]
    assert len(by_case) == 2  # the same mailbox, in a different letter case
    assert sum(a["email"].lower() in contractor_emails for a in admins) == 1
    known = {email.lower() for email in employee_emails | contractor_emails}
    assert sum(a["email"].lower() not in known for a in admins) == 1
    assert sim.expected_counts() == {
        "resources": {"company": 1, "employee": 30, "contractor": 8, "user": 1},
        "entitlements": 1,
        "grants": 4,
    }


def test_single_records_and_determinism(sim: GustoSimulator, api: httpx.Client) -> None:
    employees = api.get(f"/v1/companies/{sim.company_uuid}/employees").json()
    contractors = api.get(f"/v1/companies/{sim.company_uuid}/contractors").json()
    assert api.get(f"/v1/employees/{employees[5]['uuid']}").json() == employees[5]
    assert api.get(f"/v1/contractors/{contractors[3]['uuid']}").json() == contractors[3]
    assert sim.employee(employees[5]["uuid"]) == employees[5]

    twin = GustoSimulator()
    assert twin.company_uuid == sim.company_uuid
    assert twin.employee(employees[5]["uuid"]) == employees[5]
    assert GustoSimulator(seed=2).company_uuid != sim.company_uuid


def test_large_company_pages_quickly(clock: FakeClock) -> None:
    sim = GustoSimulator(employees=10_000, rate_limit_per_minute=1_000, clock=clock)
    with api_client(sim, sim.issue_credentials()["access_token"]) as api:
        started = time.perf_counter()
        last = api.get(f"/v1/companies/{sim.company_uuid}/employees", params={"page": 100, "per": 100})
        assert time.perf_counter() - started < 1.0
        assert last.headers["X-Total-Pages"] == "100"
        assert len(last.json()) == 100
        assert api.get(f"/v1/employees/{last.json()[-1]['uuid']}").status_code == 200
    assert sim.expected_counts()["resources"]["employee"] == 10_000


# ---------------------------------------------------------------------- provisioning


def test_create_admin_and_duplicate(sim: GustoSimulator, api: httpx.Client) -> None:
    path = f"/v1/companies/{sim.company_uuid}/admins"
    created = api.post(path, json={"first_name": "Pat", "last_name": "Lee", "email": "pat.lee@example.com"})
    assert created.status_code == 200
    assert created.json()["email"] == "pat.lee@example.com"
    assert "pat.lee@example.com" in sim.admin_emails()
    assert len(api.get(path).json()) == 5

    existing = sim.admin_emails()[0].upper()
    duplicate = api.post(path, json={"first_name": "A", "last_name": "B", "email": existing})
    assert duplicate.status_code == 422
    assert duplicate.json() == {
        "errors": [
            {
                "error_key": "email",
                "category": "invalid_attribute_value",
                "message": "User has already been taken",
            }
        ]
    }
    missing = api.post(path, json={"first_name": "Pat"})
    assert missing.status_code == 422
    assert {(e["error_key"], e["category"]) for e in missing.json()["errors"]} == {
        ("last_name", "missing_parameter"),
        ("email", "missing_parameter"),
    }
    assert sim.mutations == [("POST", path)]


def test_create_admin_embedded_only(clock: FakeClock) -> None:
    sim = GustoSimulator(embedded_admin_api=False, clock=clock)
    with api_client(sim, sim.issue_credentials()["access_token"]) as api:
        response = api.post(
            f"/v1/companies/{sim.company_uuid}/admins",
            json={"first_name": "Pat", "last_name": "Lee", "email": "pat.lee@example.com"},
        )
        assert response.status_code == 403
        error = response.json()["errors"][0]
        assert (error["error_key"], error["category"]) == ("base", "missing_permissions")
        assert error["message"].startswith("This endpoint is part of Gusto Embedded.")
    assert sim.mutations == []


def test_create_employee(sim: GustoSimulator, api: httpx.Client) -> None:
    path = f"/v1/companies/{sim.company_uuid}/employees"
    invited = api.post(
        path,
        json={"first_name": "Kim", "last_name": "Ode", "email": "kim@example.com", "self_onboarding": True},
    )
    assert invited.status_code == 201
    employee = invited.json()
    assert (employee["onboarded"], employee["onboarding_status"]) == (False, "self_onboarding_pending_invite")
    assert sim.employee(employee["uuid"]) == employee
    assert len(api.get(path).json()) == 31

    by_admin = api.post(path, json={"first_name": "Ida", "last_name": "Moe"})
    assert by_admin.json()["onboarding_status"] == "admin_onboarding_incomplete"

    no_email = api.post(path, json={"first_name": "Ida", "last_name": "Moe", "self_onboarding": True})
    assert no_email.status_code == 422
    assert no_email.json()["errors"][0]["error_key"] == "email"
    no_last = api.post(path, json={"first_name": "Ida"})
    assert no_last.json()["errors"] == [
        {"error_key": "last_name", "category": "missing_parameter", "message": "last_name is required."}
    ]
    assert sim.expected_counts()["resources"]["employee"] == 32


def test_delete_employee(sim: GustoSimulator, api: httpx.Client) -> None:
    employees = api.get(f"/v1/companies/{sim.company_uuid}/employees").json()
    onboarded = next(e for e in employees if e["onboarded"])
    onboarding = next(e for e in employees if not e["onboarded"])

    refused = api.delete(f"/v1/employees/{onboarded['uuid']}")
    assert refused.status_code == 422
    assert refused.json() == {
        "errors": [
            {
                "error_key": "base",
                "category": "invalid_operation",
                "message": "Cannot delete onboarded employee",
            }
        ]
    }

    deleted = api.delete(f"/v1/employees/{onboarding['uuid']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert sim.employee(onboarding["uuid"]) is None
    assert api.get(f"/v1/employees/{onboarding['uuid']}").status_code == 404
    assert api.delete(f"/v1/employees/{onboarding['uuid']}").status_code == 404
    assert len(api.get(f"/v1/companies/{sim.company_uuid}/employees").json()) == 29
    assert sim.mutations == [("DELETE", f"/v1/employees/{onboarding['uuid']}")]


def test_delete_created_employee(sim: GustoSimulator, api: httpx.Client) -> None:
    path = f"/v1/companies/{sim.company_uuid}/employees"
    first = api.post(path, json={"first_name": "Ida", "last_name": "Moe"}).json()
    assert api.delete(f"/v1/employees/{first['uuid']}").status_code == 204
    second = api.post(path, json={"first_name": "Ida", "last_name": "Moe"}).json()
    assert second["uuid"] != first["uuid"]
    assert sim.employee(second["uuid"]) is not None


# ---------------------------------------------------------------------- a real server, many clients


def test_served_instance_under_concurrent_clients() -> None:
    sim = GustoSimulator(employees=300, rate_limit_per_minute=10_000)
    token = sim.issue_credentials()["access_token"]
    results: list[int] = []
    lock = threading.Lock()
    with sim.serve() as root:

        def worker() -> None:
            with httpx.Client(base_url=root, headers=bearer(token)) as client:
                for page in range(1, 4):
                    response = client.get(
                        f"/v1/companies/{sim.company_uuid}/employees", params={"page": page, "per": 100}
                    )
                    with lock:
                        results.append(len(response.json()))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        with httpx.Client(base_url=root) as client:
            redirect = client.get(
                "/oauth/authorize",
                params={"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code"},
            )
            assert redirect.status_code == 302
    assert results == [100] * 24
    assert sim.requests == 25
