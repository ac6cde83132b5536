"""Gusto → snapshot records, as the Gusto table of docs/snapshot-format.md says.

| resource   | from                                          | notes                                                |
|------------|-----------------------------------------------|------------------------------------------------------|
| company    | GET /v1/token_info, GET /v1/companies/{uuid}  | entitlement company:<uuid>:admin (permission)        |
| employee   | GET /v1/companies/{uuid}/employees (paged)    | parent = company; disabled once terminated (effective) |
| contractor | GET /v1/companies/{uuid}/contractors (paged)  | parent = company; is_active false → disabled         |
| user       | admins that match no employee or contractor   | so that every admin stays visible                    |
| grants     | GET /v1/companies/{uuid}/admins               | company:<uuid>:admin to the person with that address |

Terminations: Gusto sets `terminated` as soon as a termination is scheduled. An employee is disabled only
once the termination that counts (the latest one not cancelled) is effective on the sync's UTC date; a
later one leaves the employee enabled, with its date in `profile.termination_date`.

Matching: an admin's email is compared, ignoring letter case and surrounding spaces, with each person's
`email` and `work_email`. A match on `email` wins over one on `work_email`, then employees win over
contractors, and the first match in Gusto's order wins, so the result does not depend on which list
arrives first.

Memory stays bounded: the admins (a handful) come first and are kept in `ctx.state`; employees, then
contractors, stream through. Each list's first page goes out at once, together with the company, and
names how many pages the list has, so every further page is requested at once too (sync/numbered.py);
pages are still written in order, the admins' before anyone's. An employee matched by `email` is
written as soon as it is seen; any other match waits in the admin table until no better one can come;
the unmatched admins become `user` resources at the end. `GustoSyncState` holds the company, the sync's
date, the admin table and the next page of each list, so a resumed sync requests nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from access_sync.connectors.gusto.client import GustoClient
from access_sync.models import ids
from access_sync.models.snapshot import (
    Entitlement,
    Grant,
    Resource,
    ResourceRef,
    ResourceType,
    UserTrait,
    resource_line,
)
from access_sync.sync.connector import ClientSyncer, SyncContext
from access_sync.sync.numbered import run_numbered

RESOURCE_TYPES = [
    ResourceType(id="company", display_name="Company"),
    ResourceType(id="employee", display_name="Employee", traits=["user"]),
    ResourceType(id="contractor", display_name="Contractor", traits=["user"]),
    ResourceType(id="user", display_name="User", traits=["user"]),
]
ADMIN_SLUG = "admin"
COMPANY: Final = "company"
ADMINS: Final = "admin"
EMPLOYEES: Final = "employee"
CONTRACTORS: Final = "contractor"
PersonType = Literal["employee", "contractor"]
PERSON_TYPES: tuple[PersonType, ...] = (EMPLOYEES, CONTRACTORS)


class AdminEntry(BaseModel):
    """One admin as the sync remembers it: identity, and the employee or contractor it matched, if any yet."""

    uuid: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    employee: str | None = None  # matched on the employee's email
    contractor: str | None = None  # matched on the contractor's email
    work_employee: str | None = None  # matched on the employee's work_email only

    @classmethod
    def of(cls, admin: dict[str, Any]) -> AdminEntry:
        return cls(
            uuid=str(admin["uuid"]),
            email=admin.get("email"),
            first_name=admin.get("first_name"),
            last_name=admin.get("last_name"),
        )


class GustoSyncState(BaseModel):
    company: str | None = None
    sync_date: str | None = None  # the UTC date terminations are judged on, fixed when the sync starts
    admins: list[AdminEntry] | None = None  # complete once the admins' list is gone from `cursors`
    cursors: dict[str, str] = Field(default_factory=dict)  # list → URL of its next page, in writing order


def _name(first: Any, last: Any) -> str:
    """ "First Last", or whichever of the two there is."""
    return f"{first} {last}" if first and last else str(first or last or "")


def company_resource(company: dict[str, Any]) -> Resource:
    return Resource(
        resource_type=COMPANY,
        id=str(company["uuid"]),
        display_name=str(company.get("name") or company.get("trade_name") or company["uuid"]),
        status="disabled" if company.get("is_suspended") else "enabled",
        profile={
            "name": company.get("name"),
            "trade_name": company.get("trade_name"),
            "company_status": company.get("company_status"),
            "is_suspended": company.get("is_suspended"),
            "entity_type": company.get("entity_type"),
            "tier": company.get("tier"),
            "primary_payroll_admin_email": (company.get("primary_payroll_admin") or {}).get("email"),
        },
    )


def admin_entitlement(company: Resource) -> Entitlement:
    return Entitlement.for_resource(
        company.ref,
        ADMIN_SLUG,
        "permission",
        f"{company.display_name} admin",
        grantable_to=[EMPLOYEES, CONTRACTORS, "user"],
    )


def termination(employee: dict[str, Any], today: date) -> tuple[bool, str | None]:
    """Whether the employee has left on `today`, and the effective date of the termination that counts."""
    if not employee.get("terminated"):
        return False, None
    terminations = employee.get("terminations") or []
    if not terminations:
        return True, None  # terminated, without saying when
    counted = sorted(
        str(entry["effective_date"])
        for entry in terminations
        if entry.get("active") is not False and entry.get("effective_date")
    )
    if not counted:
        return False, None  # every termination was cancelled
    return counted[-1] <= today.isoformat(), counted[-1]


# People are written as lines without building models (`resource_line`): a company has tens of thousands.


def employee_line(employee: dict[str, Any], company: ResourceRef, today: date) -> bytes:
    get = employee.get  # looked up once: this runs for every employee of every sync
    left, ends = termination(employee, today)
    first_name, last_name = get("preferred_first_name") or get("first_name"), get("last_name")
    email, work_email = get("email"), get("work_email")
    uuid = str(employee["uuid"])
    return resource_line(
        EMPLOYEES,
        uuid,
        _name(first_name, last_name) or uuid,
        company,
        "disabled" if left else "enabled",
        (work_email or email, email or work_email),
        {
            "first_name": get("first_name"),
            "last_name": last_name,
            "email": email,
            "work_email": work_email,
            "terminated": get("terminated"),
            "termination_date": ends,
            "onboarded": get("onboarded"),
            "onboarding_status": get("onboarding_status"),
            "current_employment_status": get("current_employment_status"),
            "department": get("department"),
            "title": get("title"),
            "employee_code": get("employee_code"),
            "manager_uuid": get("manager_uuid"),
        },
    )


def contractor_line(contractor: dict[str, Any], company: ResourceRef) -> bytes:
    business = contractor.get("type") == "Business"
    person = _name(contractor.get("first_name"), contractor.get("last_name"))
    name = contractor.get("business_name") if business else person
    email = contractor.get("email")
    return resource_line(
        CONTRACTORS,
        str(contractor["uuid"]),
        str(name or contractor["uuid"]),
        company,
        "disabled" if contractor.get("is_active") is False else "enabled",
        # A business contractor usually has no address: its handle is then its Gusto uuid, which never changes
        # (its business name may).
        (email, email or str(contractor["uuid"])),
        {
            "type": contractor.get("type"),
            "first_name": contractor.get("first_name"),
            "last_name": contractor.get("last_name"),
            "business_name": contractor.get("business_name"),
            "email": email,
            "is_active": contractor.get("is_active"),
            "onboarded": contractor.get("onboarded"),
            "onboarding_status": contractor.get("onboarding_status"),
            "start_date": contractor.get("start_date"),
            "dismissal_date": contractor.get("dismissal_date"),
        },
    )


def admin_user_resource(admin: AdminEntry, company: ResourceRef) -> Resource:
    return Resource(
        resource_type="user",
        id=admin.uuid,
        display_name=_name(admin.first_name, admin.last_name) or str(admin.email or admin.uuid),
        parent=company,
        user=UserTrait(email=admin.email, login=admin.email),
        profile={"admin_uuid": admin.uuid, "first_name": admin.first_name, "last_name": admin.last_name},
    )


def _address(value: object) -> str:
    return str(value or "").strip().lower()


class _AdminTable:
    """The admins by address, over the entries of the sync state (changed in place, on the writer thread)."""

    def __init__(self, entries: list[AdminEntry]) -> None:
        self.entries = entries
        self._by_email: dict[str, list[AdminEntry]] = {}
        for entry in entries:
            if _address(entry.email):
                self._by_email.setdefault(_address(entry.email), []).append(entry)

    def claim(self, kind: PersonType, person: dict[str, Any]) -> bool:
        """Records `person` as the match of its admins not yet claimed this way; True if it newly claimed an
        admin on `email` (the best match there is, for an employee)."""
        claimed = False
        for entry in self._by_email.get(_address(person.get("email")), []):
            if getattr(entry, kind) is None:
                setattr(entry, kind, str(person["uuid"]))
                claimed = True
        if kind == EMPLOYEES:
            for entry in self._by_email.get(_address(person.get("work_email")), []):
                if entry.work_employee is None:
                    entry.work_employee = str(person["uuid"])
        return claimed


class _People:
    """Writes each page of a list: admins go into the sync state, people become records (and grants)."""

    def __init__(self, ctx: SyncContext[Any], company: ResourceRef, admins: list[AdminEntry], today: date) -> None:
        self.sink, self.company, self.admins, self.today = ctx.sink, company, admins, today
        self.entitlement = ids.entitlement_id(company.resource_type, company.id, ADMIN_SLUG)
        self._table: _AdminTable | None = None

    def table(self) -> _AdminTable:
        """The admins by address; built once the admins' list is complete (it comes before the others)."""
        if self._table is None:
            self._table = _AdminTable(self.admins)
        return self._table

    def handle(self, kind: str, items: list[dict[str, Any]]) -> None:
        if kind == ADMINS:
            self.admins.extend(AdminEntry.of(admin) for admin in items)
            return
        table = self.table()
        if kind == EMPLOYEES:
            lines = [employee_line(item, self.company, self.today) for item in items]
            self.sink.resource_lines(EMPLOYEES, lines)  # a page in one write: the writer's busiest path
            for item in items:
                if table.claim(EMPLOYEES, item):
                    self.sink.grant_to(self.entitlement, EMPLOYEES, str(item["uuid"]))
        else:
            self.sink.resource_lines(CONTRACTORS, [contractor_line(item, self.company) for item in items])
            for item in items:
                table.claim(CONTRACTORS, item)


class GustoSyncer(ClientSyncer[GustoClient]):
    name = "gusto"
    resource_types = RESOURCE_TYPES
    state_model = GustoSyncState

    def __init__(
        self, client: GustoClient, concurrency: int = 16, today: Callable[[], date] = lambda: datetime.now(UTC).date()
    ) -> None:
        super().__init__(client, concurrency)
        self.today = today

    def sync(self, ctx: SyncContext[GustoSyncState]) -> bool:
        state = ctx.state
        opening: Callable[[], None] | None = None
        if state.company is None:
            state.company = company_uuid = self.client.company_uuid()
            opening = partial(self._write_company, ctx, company_uuid)  # while the first pages load
        company = ResourceRef(resource_type=COMPANY, id=state.company)
        state.sync_date = state.sync_date or self.today().isoformat()
        if state.admins is None:
            state.admins = []
            state.cursors = {
                ADMINS: self.client.admins_url(company.id),
                EMPLOYEES: self.client.employees_url(company.id),
                CONTRACTORS: self.client.contractors_url(company.id),
            }
        people = _People(ctx, company, state.admins, date.fromisoformat(state.sync_date))
        if not run_numbered(
            self.client, state.cursors, people.handle, ctx.deadline, self.concurrency, leading=ADMINS, opening=opening
        ):
            return False
        self._finish_admins(ctx, people.table(), company, people.entitlement)
        return True

    def _write_company(self, ctx: SyncContext[GustoSyncState], company_uuid: str) -> None:
        company = company_resource(self.client.company(company_uuid))
        ctx.sink.resource(company)
        ctx.sink.entitlement(admin_entitlement(company))

    @staticmethod
    def _finish_admins(
        ctx: SyncContext[GustoSyncState], table: _AdminTable, company: ResourceRef, entitlement: str
    ) -> None:
        """Grants for the matches that had to wait, then a user and a grant for every admin that matched nobody."""
        granted: set[tuple[str, str]] = {(EMPLOYEES, e.employee) for e in table.entries if e.employee}  # streamed
        for entry in table.entries:
            if entry.employee:
                continue
            kind, person = (CONTRACTORS, entry.contractor) if entry.contractor else (EMPLOYEES, entry.work_employee)
            if person is not None:
                if (kind, person) not in granted:
                    granted.add((kind, person))
                    ctx.sink.grant(Grant.of(entitlement, ResourceRef(resource_type=kind, id=person)))
                continue
            user = admin_user_resource(entry, company)
            ctx.sink.resource(user)
            ctx.sink.grant(Grant.of(entitlement, user.ref))
