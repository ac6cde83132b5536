"""Every provisioning action against the simulators: the success path and each documented refusal."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from access_sync.connectors.guru.connector import GURU
from access_sync.connectors.gusto.connector import GUSTO
from access_sync.connectors.spec import Connection
from access_sync.errors import AmbiguousWriteError
from access_sync.models.provisioning import CreateAccountRequest, GrantRequest, parse_request
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.recorder import OutcomeRecorder
from access_sync.provisioning.service import ProvisioningService
from access_sync.stores.blob import LocalBlobStore
from access_sync.stores.idempotency import FolderPersistenceLayer
from access_sync.stores.secrets import FileSecretStore
from access_sync.wiring.connections import local_connection
from access_sync.wiring.registry import CONNECTORS
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator


@pytest.fixture
def gusto() -> GustoSimulator:
    return GustoSimulator(employees=30, contractors=8, admins=4)


@pytest.fixture
def guru() -> GuruSimulator:
    return GuruSimulator(members=40, groups=6)


@pytest.fixture
def service(
    tmp_path: Path, gusto: GustoSimulator, guru: GuruSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ProvisioningService]:
    credentials = tmp_path / "gusto.json"
    credentials.write_text(json.dumps(gusto.issue_credentials()))
    monkeypatch.setenv("GURU_USER_EMAIL", guru.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", guru.ADMIN_TOKEN)
    provisioners: dict[str, Provisioner] = {
        "gusto": GUSTO.provisioner(Connection(FileSecretStore(credentials), "http://gusto.test", gusto.transport())),
        "guru": GURU.provisioner(local_connection(GURU, None, "http://guru.test/api/v1", transport=guru.transport())),
    }
    yield ProvisioningService(
        provisioners.__getitem__,
        CONNECTORS,
        OutcomeRecorder(LocalBlobStore(tmp_path / "out")),
        FolderPersistenceLayer(tmp_path / "idempotency"),
    )
    for provisioner in provisioners.values():
        provisioner.close()


_ids = itertools.count()


def run(service: ProvisioningService, **body: object) -> tuple[str, str]:
    outcome = service.handle(json.dumps({"request_id": f"r-{next(_ids)}", **body})).outcome
    return outcome.status, outcome.message


def employee_where(gusto: GustoSimulator, **wanted: object) -> dict[str, object]:
    """The first employee with these field values who is not already a company admin."""
    import httpx

    token = gusto.issue_credentials()["access_token"]
    client = httpx.Client(transport=gusto.transport(), base_url="http://gusto.test")
    listed = client.get(
        f"/v1/companies/{gusto.company_uuid}/employees", headers={"Authorization": f"Bearer {token}"}
    ).json()
    admins = {email.lower() for email in gusto.admin_emails()}
    return next(
        e for e in listed if all(e.get(k) == v for k, v in wanted.items()) and str(e["email"]).lower() not in admins
    )


def gusto_changes(gusto: GustoSimulator) -> list[tuple[str, str]]:
    return [m for m in gusto.mutations if m[0] != "GET"]


# Gusto ------------------------------------------------------------------------------------------------------


def test_gusto_grant_admin_to_an_employee_looks_the_person_up(
    service: ProvisioningService, gusto: GustoSimulator
) -> None:
    employee = employee_where(gusto, onboarded=True, terminated=False)
    status, message = run(
        service,
        connector="gusto",
        action="grant",
        entitlement_id=f"company:{gusto.company_uuid}:admin",
        principal={"resource_type": "employee", "id": employee["uuid"]},
    )
    assert status == "succeeded" and str(employee["email"]) in message
    assert str(employee["email"]).lower() in {e.lower() for e in gusto.admin_emails()}


def test_gusto_grant_admin_already_admin_is_already_done(service: ProvisioningService, gusto: GustoSimulator) -> None:
    existing = sorted(gusto.admin_emails())[0]
    status, _ = run(
        service,
        connector="gusto",
        action="grant",
        entitlement_id=f"company:{gusto.company_uuid}:admin",
        principal={"email": existing, "first_name": "Al", "last_name": "Ready"},
    )
    assert status == "already_done"


def test_gusto_grant_admin_refused_outside_embedded_explains_why(tmp_path: Path) -> None:
    gusto = GustoSimulator(embedded_admin_api=False)
    credentials = tmp_path / "g.json"
    credentials.write_text(json.dumps(gusto.issue_credentials()))
    provisioner = GUSTO.provisioner(Connection(FileSecretStore(credentials), "http://g.test", gusto.transport()))
    request = parse_request(
        json.dumps(
            {
                "request_id": "x",
                "connector": "gusto",
                "action": "grant",
                "entitlement_id": f"company:{gusto.company_uuid}:admin",
                "principal": {"email": "n@x.com", "first_name": "N", "last_name": "X"},
            }
        ),
        CONNECTORS,
    )
    result = provisioner.grant(request)  # type: ignore[arg-type]
    assert result.status == "failed" and "Gusto Embedded" in result.message and "Gusto UI" in result.message


def test_gusto_grant_for_another_company_fails(service: ProvisioningService) -> None:
    status, message = run(
        service,
        connector="gusto",
        action="grant",
        entitlement_id="company:00000000-0000-0000-0000-000000000000:admin",
        principal={"email": "n@x.com", "first_name": "N", "last_name": "X"},
    )
    assert status == "failed" and "not 00000000" in message


def test_gusto_revoke_admin_is_unsupported_and_says_where_to_do_it(
    service: ProvisioningService, gusto: GustoSimulator
) -> None:
    status, message = run(
        service, connector="gusto", action="revoke", grant_id=f"company:{gusto.company_uuid}:admin:employee:e1"
    )
    assert status == "unsupported" and "Gusto UI" in message
    assert gusto_changes(gusto) == []


def test_gusto_create_account_returns_the_new_employee(service: ProvisioningService, gusto: GustoSimulator) -> None:
    outcome = service.handle(
        json.dumps(
            {
                "request_id": "new-hire",
                "connector": "gusto",
                "action": "create_account",
                "account": {"first_name": "Grace", "last_name": "Hopper", "email": "g@x.com", "self_onboarding": True},
            }
        )
    ).outcome
    assert outcome.status == "succeeded" and outcome.resource is not None
    assert gusto.employee(str(outcome.resource["id"])) is not None


def test_gusto_delete_of_an_onboarding_employee_deletes_it(service: ProvisioningService, gusto: GustoSimulator) -> None:
    employee = employee_where(gusto, onboarded=False)
    status, _ = run(
        service,
        connector="gusto",
        action="delete_resource",
        resource={"resource_type": "employee", "id": employee["uuid"]},
    )
    assert status == "succeeded" and gusto.employee(str(employee["uuid"])) is None


def test_gusto_delete_of_an_onboarded_employee_fails_without_calling_delete(
    service: ProvisioningService, gusto: GustoSimulator
) -> None:
    employee = employee_where(gusto, onboarded=True)
    status, message = run(
        service,
        connector="gusto",
        action="delete_resource",
        resource={"resource_type": "employee", "id": employee["uuid"]},
    )
    assert status == "failed" and "terminate" in message
    assert not [entry for entry in gusto.request_log if entry[0] == "DELETE"]


def test_gusto_delete_of_an_employee_already_gone_is_already_done(service: ProvisioningService) -> None:
    status, _ = run(
        service,
        connector="gusto",
        action="delete_resource",
        resource={"resource_type": "employee", "id": "11111111-2222-3333-4444-555555555555"},
    )
    assert status == "already_done"


# Guru -------------------------------------------------------------------------------------------------------


def test_guru_grant_and_revoke_group_membership(service: ProvisioningService, guru: GuruSimulator) -> None:
    gid, outsider = next(
        (gid, guru.member_email(i))
        for gid in guru.group_ids()[1:]
        for i in range(2, 40)
        if not guru.is_member(gid, guru.member_email(i))
    )
    grant = {"connector": "guru", "action": "grant", "entitlement_id": f"group:{gid}:member"}
    assert run(service, **grant, principal={"resource_type": "user", "id": outsider})[0] == "succeeded"
    assert guru.is_member(gid, outsider)
    revoke = {"connector": "guru", "action": "revoke", "grant_id": f"group:{gid}:member:user:{outsider}"}
    assert run(service, **revoke)[0] == "succeeded"
    assert not guru.is_member(gid, outsider)
    assert run(service, **revoke, note_ignored=None)[0] == "rejected"  # unknown field
    again = service.handle(json.dumps({"request_id": "revoke-again", **revoke})).outcome
    assert again.status == "already_done"


def test_guru_grant_to_someone_not_on_the_team_fails(service: ProvisioningService, guru: GuruSimulator) -> None:
    status, message = run(
        service,
        connector="guru",
        action="grant",
        entitlement_id=f"group:{guru.group_ids()[1]}:member",
        principal={"resource_type": "user", "id": "stranger@elsewhere.com"},
    )
    assert status == "failed" and "invite them" in message


def test_guru_all_members_group_cannot_be_changed(service: ProvisioningService, guru: GuruSimulator) -> None:
    status, message = run(
        service,
        connector="guru",
        action="revoke",
        grant_id=f"group:{guru.all_members_group_id}:member:user:{guru.member_email(3)}",
    )
    assert status == "failed" and "All Members" in message


def test_guru_create_account_invites_to_the_team_once(service: ProvisioningService, guru: GuruSimulator) -> None:
    invite = {"connector": "guru", "action": "create_account", "account": {"email": "New.Hire@Example.com"}}
    status, message = run(service, **invite)
    assert status == "succeeded" and "invited" in message and "pending" in message
    assert guru.on_team("new.hire@example.com")
    assert guru.mutations == [("INVITE", "team", "new.hire@example.com")]
    status, message = run(service, **invite)  # a new request for the same person
    assert status == "already_done" and "already on the Guru team" in message
    assert len(guru.mutations) == 1


def test_guru_create_account_of_a_member_already_on_the_team_is_already_done(
    service: ProvisioningService, guru: GuruSimulator
) -> None:
    member = guru.member_email(5)
    account = {"email": member.upper(), "member_type": "LIGHT"}
    status, _ = run(service, connector="guru", action="create_account", account=account)
    assert status == "already_done" and guru.mutations == []


def test_guru_delete_resource_removes_the_member_from_the_team_and_warns_about_verifiers(
    service: ProvisioningService, guru: GuruSimulator
) -> None:
    member = next(guru.member_email(i) for i in range(2, 40) if len(guru.groups_of(guru.member_email(i))) > 1)
    user = {"resource_type": "user", "id": member}
    status, message = run(service, connector="guru", action="delete_resource", resource=user)
    assert status == "succeeded" and "verifier" in message
    assert not guru.on_team(member) and guru.groups_of(member) == []
    assert guru.mutations == [("DELETE", "team", member)]
    status, message = run(service, connector="guru", action="delete_resource", resource=user)
    assert status == "already_done" and "not on the Guru team" in message
    assert len(guru.mutations) == 1


def test_guru_delete_resource_of_a_group_is_unsupported(service: ProvisioningService, guru: GuruSimulator) -> None:
    group = {"resource_type": "group", "id": guru.group_ids()[1]}
    status, _ = run(service, connector="guru", action="delete_resource", resource=group)
    assert status == "unsupported" and guru.mutations == []


def test_a_gusto_create_account_needs_a_name_not_just_an_address(
    service: ProvisioningService, gusto: GustoSimulator
) -> None:
    account = {"email": "only.address@example.com"}
    status, message = run(service, connector="gusto", action="create_account", account=account)
    assert status == "failed" and "first_name" in message and gusto.mutations == []


# Once only --------------------------------------------------------------------------------------------------


def test_the_same_request_id_twice_changes_the_server_once_and_reports_the_first_outcome(
    service: ProvisioningService, gusto: GustoSimulator
) -> None:
    body = json.dumps(
        {
            "request_id": "hire-once",
            "connector": "gusto",
            "action": "create_account",
            "account": {"first_name": "Ada", "last_name": "Lovelace"},
        }
    )
    first, second = service.handle(body), service.handle(body)
    assert first == second
    assert len([m for m in gusto_changes(gusto) if m[0] == "POST"]) == 1


class LosesEmployeeReply(httpx.BaseTransport):
    """Passes everything to the simulator, but the answer to creating an employee (or an admin) never arrives."""

    def __init__(self, inner: httpx.BaseTransport, reaches_gusto: bool, path_end: str = "/employees") -> None:
        self.inner, self.reaches_gusto, self.path_end = inner, reaches_gusto, path_end

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith(self.path_end):
            if self.reaches_gusto:
                self.inner.handle_request(request)
            raise httpx.ReadTimeout("no answer", request=request)
        return self.inner.handle_request(request)


def provisioner_losing_replies(
    tmp_path: Path, gusto: GustoSimulator, reaches_gusto: bool, path_end: str = "/employees"
) -> Provisioner:
    credentials = tmp_path / "lost.json"
    credentials.write_text(json.dumps(gusto.issue_credentials()))
    transport = LosesEmployeeReply(gusto.transport(), reaches_gusto, path_end)
    return GUSTO.provisioner(Connection(FileSecretStore(credentials), "http://gusto.test", transport))


def hire(**account: object) -> CreateAccountRequest:
    body = {"request_id": "hire", "connector": "gusto", "action": "create_account", "account": account}
    request = parse_request(json.dumps(body), CONNECTORS)
    assert isinstance(request, CreateAccountRequest)
    return request


def employee_posts(gusto: GustoSimulator) -> int:
    return len([m for m in gusto_changes(gusto) if m[0] == "POST" and m[1].endswith("/employees")])


def test_a_create_whose_reply_was_lost_finds_the_employee_instead_of_creating_another(
    tmp_path: Path, gusto: GustoSimulator
) -> None:
    provisioner = provisioner_losing_replies(tmp_path, gusto, reaches_gusto=True)
    result = provisioner.create_account(hire(first_name="Lin", last_name="Lost", email="lin.lost@example.com"))
    assert result.status == "succeeded" and result.resource is not None
    assert gusto.employee(str(result.resource["id"])) is not None
    assert employee_posts(gusto) == 1


def test_a_create_that_never_reached_gusto_is_left_to_the_queue_to_retry(tmp_path: Path, gusto: GustoSimulator) -> None:
    provisioner = provisioner_losing_replies(tmp_path, gusto, reaches_gusto=False)
    with pytest.raises(AmbiguousWriteError):
        provisioner.create_account(hire(first_name="Nev", last_name="Er", email="never@example.com"))
    assert employee_posts(gusto) == 0


def test_a_lost_create_without_an_email_fails_rather_than_risk_a_duplicate(
    tmp_path: Path, gusto: GustoSimulator
) -> None:
    provisioner = provisioner_losing_replies(tmp_path, gusto, reaches_gusto=True)
    result = provisioner.create_account(hire(first_name="No", last_name="Mail"))
    assert result.status == "failed" and "new request_id" in result.message
    assert employee_posts(gusto) == 1


def admin_grant(gusto: GustoSimulator, email: str) -> GrantRequest:
    body = {
        "request_id": "admin",
        "connector": "gusto",
        "action": "grant",
        "entitlement_id": f"company:{gusto.company_uuid}:admin",
        "principal": {"email": email, "first_name": "Ada", "last_name": "Lovelace"},
    }
    request = parse_request(json.dumps(body), CONNECTORS)
    assert isinstance(request, GrantRequest)
    return request


def test_an_admin_grant_whose_reply_was_lost_reports_that_this_request_made_it(
    tmp_path: Path, gusto: GustoSimulator
) -> None:
    provisioner = provisioner_losing_replies(tmp_path, gusto, reaches_gusto=True, path_end="/admins")
    result = provisioner.grant(admin_grant(gusto, "ada.admin@example.com"))
    assert result.status == "succeeded" and result.resource is not None
    assert result.resource["email"] == "ada.admin@example.com"
    assert len([m for m in gusto_changes(gusto) if m[1].endswith("/admins")]) == 1


def test_a_redelivered_admin_grant_finds_the_admin_an_earlier_attempt_made(
    gusto: GustoSimulator, tmp_path: Path
) -> None:
    credentials = tmp_path / "g.json"
    credentials.write_text(json.dumps(gusto.issue_credentials()))
    provisioner = GUSTO.provisioner(Connection(FileSecretStore(credentials), "http://g.test", gusto.transport()))
    assert provisioner.grant(admin_grant(gusto, "twice@example.com")).status == "succeeded"
    again = provisioner.grant(admin_grant(gusto, "twice@example.com"), redelivered=True)
    assert again.status == "succeeded"
    assert len([m for m in gusto_changes(gusto) if m[1].endswith("/admins")]) == 1
