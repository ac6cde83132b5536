"""Gusto changes: company admins, new employees, deleting employees still in onboarding (docs/provisioning.md).

Gusto's limits shape the answers: admins can be added (Gusto Embedded apps only) but never removed through
the API, and only employees who have not finished onboarding can be deleted.
"""

from __future__ import annotations

from typing import Any

from access_sync.connectors.gusto.client import GustoApiError, GustoClient
from access_sync.connectors.gusto.syncer import ADMIN_SLUG, COMPANY, PERSON_TYPES
from access_sync.errors import AmbiguousWriteError
from access_sync.models import ids
from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    DeleteResourceRequest,
    GrantRequest,
    NewAccount,
    Person,
    ResourceId,
    RevokeRequest,
)


def _name(person: dict[str, Any]) -> str:
    parts = (person.get("first_name"), person.get("last_name"))
    return " ".join(p for p in parts if p) or str(person.get("business_name") or person.get("uuid"))


def _created(employee: dict[str, Any]) -> ActionResult:
    summary = {key: employee.get(key) for key in ("uuid", "first_name", "last_name", "email", "onboarding_status")}
    return ActionResult(
        status="succeeded",
        message=f"Employee {_name(employee)} was created ({employee.get('onboarding_status') or 'onboarding'}).",
        resource={"resource_type": "employee", "id": employee.get("uuid"), **summary},
    )


class GustoProvisioner:
    def __init__(self, client: GustoClient) -> None:
        self.client = client
        self._company: str | None = None

    def company(self) -> str:
        if self._company is None:
            self._company = self.client.company_uuid()
        return self._company

    def _wrong_company(self, company: str) -> ActionResult | None:
        if company == self.company():
            return None
        return ActionResult(
            status="failed",
            message=f"This Gusto connection is for company {self.company()}, not {company}; "
            "send the request to the connection of that company.",
        )

    def _person(self, principal: ResourceId) -> dict[str, Any] | ActionResult:
        if principal.resource_type == "employee":
            found = self.client.get_employee(principal.id)
        elif principal.resource_type == "contractor":
            found = self.client.get_contractor(principal.id)
        else:
            return ActionResult(
                status="failed",
                message="A Gusto admin must be an employee, a contractor, or a person given by email and name.",
            )
        if found is None:
            return ActionResult(status="failed", message=f"Gusto has no {principal.resource_type} {principal.id}.")
        if not found.get("email") or not found.get("first_name") or not found.get("last_name"):
            return ActionResult(
                status="failed",
                message=f"{principal.resource_type.capitalize()} {principal.id} has no personal email or name "
                "in Gusto, which an admin needs; give the person inline instead.",
            )
        return found

    def grant(self, request: GrantRequest, redelivered: bool = False) -> ActionResult:
        entitlement = ids.parse_entitlement_id(request.entitlement_id, COMPANY, ADMIN_SLUG)
        if entitlement is None:
            return ActionResult(
                status="failed",
                message=f"Gusto can only grant company admin (company:<uuid>:admin), not {request.entitlement_id}.",
            )
        if refused := self._wrong_company(entitlement.resource_id):
            return refused
        principal = request.principal
        person: dict[str, Any] | ActionResult = (
            principal.model_dump() if isinstance(principal, Person) else self._person(principal)
        )
        if isinstance(person, ActionResult):
            return person
        email, name = str(person["email"]), _name(person)
        made = f"{name} <{email}> is now a company admin."
        # An earlier delivery may have made this admin before it died: find that first, never add twice.
        if redelivered and (earlier := self._admin_with_email(email)) is not None:
            return ActionResult(status="succeeded", message=made, resource=earlier)
        try:
            admin = self.client.create_admin(self.company(), person["first_name"], person["last_name"], email)
        except AmbiguousWriteError:
            # The POST may have arrived: if the admin is there now, this request made it.
            found = self._admin_with_email(email)
            if found is None:
                raise  # not made: SQS retries the request
            return ActionResult(status="succeeded", message=made, resource=found)
        except GustoApiError as exc:
            if exc.status == 422 and any("taken" in str(e.get("message", "")).lower() for e in exc.errors):
                return ActionResult(status="already_done", message=f"{name} <{email}> is already a company admin.")
            if "missing_permissions" in exc.categories or exc.status == 403:
                return ActionResult(
                    status="failed",
                    message="Gusto lets only Gusto Embedded partner apps add admins through the API; "
                    f"add {name} <{email}> as an admin in the Gusto UI instead.",
                )
            return ActionResult(status="failed", message=exc.message)
        return ActionResult(status="succeeded", message=made, resource=admin)

    def _admin_with_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        for admin in self.client.all_pages(self.client.admins_url(self.company())):
            if str(admin.get("email") or "").strip().lower() == wanted:
                return admin
        return None

    def revoke(self, request: RevokeRequest, redelivered: bool = False) -> ActionResult:
        if ids.parse_grant_id(request.grant_id, COMPANY, ADMIN_SLUG, (*PERSON_TYPES, "user")) is None:
            return ActionResult(
                status="failed", message=f"{request.grant_id} is not a Gusto grant id (company:<uuid>:admin:…)."
            )
        return ActionResult(
            status="unsupported",
            message="Gusto has no API to remove a company admin; remove the admin in the Gusto UI "
            "(Company settings → Admins).",
        )

    def create_account(self, request: CreateAccountRequest, redelivered: bool = False) -> ActionResult:
        account = request.account
        if not isinstance(account, NewAccount):
            return ActionResult(
                status="failed",
                message="A Gusto employee needs first_name and last_name (and an email to self-onboard); "
                "this account has only an email and a member type, which is how Guru invites.",
            )
        fields = account.model_dump(exclude_none=True)
        name = f"{account.first_name} {account.last_name}"
        emails = {e.strip().lower() for e in (account.email, account.work_email) if e}
        unverifiable = ActionResult(
            status="failed",
            message=f"An earlier attempt at creating {name} got no answer from Gusto, and the account has no email to "
            "look it up by; check Gusto for the employee before sending the request again under a new request_id.",
        )
        # An earlier delivery may have created the employee before it died: look first, never create twice.
        if redelivered:
            if not emails:
                return unverifiable
            if (earlier := self._employee_with_email(emails)) is not None:
                return _created(earlier)
        try:
            employee = self.client.create_employee(self.company(), fields)
        except GustoApiError as exc:
            return ActionResult(status="failed", message=exc.message)
        except AmbiguousWriteError:
            # The POST may have created the employee; a blind retry could create a second one.
            if not emails:
                return unverifiable
            found = self._employee_with_email(emails)
            if found is None:
                raise  # not created: SQS retries the request, and nothing is created twice
            employee = found
        return _created(employee)

    def _employee_with_email(self, emails: set[str]) -> dict[str, Any] | None:
        """Reads the employee list once, only when an earlier attempt may have created the employee."""
        for employee in self.client.all_pages(self.client.employees_url(self.company())):
            if emails & {str(employee.get(key) or "").strip().lower() for key in ("email", "work_email")}:
                return employee
        return None

    def delete_resource(self, request: DeleteResourceRequest, redelivered: bool = False) -> ActionResult:
        target = request.resource
        if target.resource_type != "employee":
            return ActionResult(
                status="unsupported",
                message=f"Gusto's API cannot delete a {target.resource_type}; deactivate it in the Gusto UI.",
            )
        employee = self.client.get_employee(target.id)
        resource = {"resource_type": "employee", "id": target.id}
        if employee is None:
            return ActionResult(status="already_done", message=f"Employee {target.id} does not exist in Gusto.")
        if employee.get("onboarded"):
            return ActionResult(
                status="failed",
                message=f"{_name(employee)} has finished onboarding and Gusto deletes only onboarding employees; "
                "deprovision them in the Gusto UI or terminate them.",
                resource=resource,
            )
        try:
            deleted = self.client.delete_employee(target.id)
        except GustoApiError as exc:
            return ActionResult(status="failed", message=exc.message, resource=resource)
        if not deleted:
            return ActionResult(status="already_done", message=f"Employee {target.id} was already gone.")
        return ActionResult(status="succeeded", message=f"Employee {_name(employee)} was deleted.", resource=resource)

    def close(self) -> None:
        self.client.close()
