"""Gusto changes: company admins, new employees, deleting employees still in onboarding (docs/provisioning.md).

Gusto's limits shape the answers: admins can be added (Gusto Embedded apps only) but never removed through
the API, and only employees who have not finished onboarding can be deleted.
"""

from __future__ import annotations

import re
from typing import Any

from access_sync.connectors.gusto.client import GustoApiError, GustoClient
from access_sync.errors import AmbiguousWriteError
from access_sync.models.provisioning import (
    ActionResult,
    CreateAccountRequest,
    DeleteResourceRequest,
    GrantRequest,
    Person,
    ResourceId,
    RevokeRequest,
)

_ADMIN = re.compile(r"^company:(?P<company>[^:]+):admin$")
_ADMIN_GRANT = re.compile(r"^company:(?P<company>[^:]+):admin:(?P<type>[^:]+):(?P<id>.+)$")


def _name(person: dict[str, Any]) -> str:
    parts = (person.get("first_name"), person.get("last_name"))
    return " ".join(p for p in parts if p) or str(person.get("business_name") or person.get("uuid"))


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

    def grant(self, request: GrantRequest) -> ActionResult:
        match = _ADMIN.match(request.entitlement_id)
        if not match:
            return ActionResult(
                status="failed",
                message=f"Gusto can only grant company admin (company:<uuid>:admin), not {request.entitlement_id}.",
            )
        if refused := self._wrong_company(match["company"]):
            return refused
        principal = request.principal
        person: dict[str, Any] | ActionResult = (
            principal.model_dump() if isinstance(principal, Person) else self._person(principal)
        )
        if isinstance(person, ActionResult):
            return person
        email, name = str(person["email"]), _name(person)
        try:
            admin = self.client.create_admin(self.company(), person["first_name"], person["last_name"], email)
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
        return ActionResult(status="succeeded", message=f"{name} <{email}> is now a company admin.", resource=admin)

    def revoke(self, request: RevokeRequest) -> ActionResult:
        if not _ADMIN_GRANT.match(request.grant_id):
            return ActionResult(
                status="failed", message=f"{request.grant_id} is not a Gusto grant id (company:<uuid>:admin:…)."
            )
        return ActionResult(
            status="unsupported",
            message="Gusto has no API to remove a company admin; remove the admin in the Gusto UI "
            "(Company settings → Admins).",
        )

    def create_account(self, request: CreateAccountRequest) -> ActionResult:
        fields = request.account.model_dump(exclude_none=True)
        try:
            employee = self.client.create_employee(self.company(), fields)
        except GustoApiError as exc:
            return ActionResult(status="failed", message=exc.message)
        except AmbiguousWriteError:
            # The POST may have created the employee; a blind retry could create a second one.
            name = f"{request.account.first_name} {request.account.last_name}"
            emails = {e.lower() for e in (request.account.email, request.account.work_email) if e}
            if not emails:
                return ActionResult(
                    status="failed",
                    message=f"Gusto did not answer the request creating {name}, which has no email to look it up "
                    "by; check Gusto for the employee before sending the request again under a new request_id.",
                )
            found = self._employee_with_email(emails)
            if found is None:
                raise  # not created: SQS retries the request, and nothing is created twice
            employee = found
        summary = {key: employee.get(key) for key in ("uuid", "first_name", "last_name", "email", "onboarding_status")}
        return ActionResult(
            status="succeeded",
            message=f"Employee {_name(employee)} was created ({employee.get('onboarding_status') or 'onboarding'}).",
            resource={"resource_type": "employee", "id": employee.get("uuid"), **summary},
        )

    def _employee_with_email(self, emails: set[str]) -> dict[str, Any] | None:
        """Reads the employee list once, only after a create whose answer was lost."""
        for employee in self.client.all_pages(self.client.employees_url(self.company())):
            if emails & {str(employee.get(key) or "").lower() for key in ("email", "work_email")}:
                return employee
        return None

    def delete_resource(self, request: DeleteResourceRequest) -> ActionResult:
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
