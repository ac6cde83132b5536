"""The company as the API shows it now: the seeded records with provisioning's changes on top.

Created employees and admins, and deleted employees, live in a thread-safe overlay; the seeded records
underneath never change, so reading them needs no lock.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from ..responses import json_bytes
from .data import GeneratedCompany, Record


class Overlay:
    """Current employees, contractors and admins; `mutations` logs each change as (method, path)."""

    def __init__(self, company: GeneratedCompany) -> None:
        self.company = company
        self.mutations: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self._deleted_employees: set[int] = set()
        self._created_employees: dict[str, Record] = {}
        self._created_admins: list[Record] = []
        self._employees_created = 0  # numbers created employees' UUIDs, which stay unique after deletions
        self._employee_keys: list[int | Record] | None = None  # until the next change

    # ------------------------------------------------------------------ reading

    def employee_keys(self) -> list[int | Record]:
        """A consistent view of the current employees: generated indices, then created records (not to be changed:
        the next change makes a new list)."""
        with self._lock:
            if self._employee_keys is None:
                deleted = self._deleted_employees
                self._employee_keys = [
                    *(i for i in range(self.company.employee_count) if i not in deleted),
                    *self._created_employees.values(),
                ]
            return self._employee_keys

    def render_employee(self, key: int | Record) -> Record:
        return self.company.employee(key) if isinstance(key, int) else key

    def employee_json(self, key: int | Record) -> bytes:
        return self.company.employee_json(key) if isinstance(key, int) else json_bytes(key)

    def find_employee(self, employee_uuid: str) -> Record | None:
        with self._lock:
            created = self._created_employees.get(employee_uuid)
            if created is not None:
                return created
            index = self.company.employee_index(employee_uuid)
            if index is None or index in self._deleted_employees:
                return None
        return self.company.employee(index)

    def employee(self, employee_uuid: str) -> Record | None:
        """The employee as the API would show it now (a copy), or None if unknown or deleted."""
        record = self.find_employee(employee_uuid)
        return copy.deepcopy(record) if record is not None else None

    def admins(self) -> list[Record]:
        with self._lock:
            created = list(self._created_admins)
        return [*(self.company.admin(i) for i in range(self.company.admin_count)), *created]

    def admin_emails(self) -> list[str]:
        return [admin["email"] for admin in self.admins()]

    def expected_counts(self) -> dict[str, Any]:
        """What a correct sync reports, in the shape of the snapshot manifest's `counts` (docs/snapshot-format.md).

        An admin is matched to an employee or contractor by `email` or `work_email`, ignoring case and
        surrounding spaces; the rest become users.
        """
        keys = self.employee_keys()
        company = self.company
        # Generated employees' addresses come straight from their index: no need to build 10,000 records.
        emails = [company.employee_email(key) if isinstance(key, int) else key["email"] for key in keys]
        emails += [company.employee_work_email(key) if isinstance(key, int) else key["work_email"] for key in keys]
        emails += [company.contractor(index)["email"] for index in range(company.contractor_count)]
        people = {email.strip().lower() for email in emails if email}
        admins = self.admins()
        users = sum(1 for admin in admins if admin["email"].strip().lower() not in people)
        return {
            "resources": {
                "company": 1,
                "employee": len(keys),
                "contractor": company.contractor_count,
                "user": users,
            },
            "entitlements": 1,
            "grants": len(admins),
        }

    # ------------------------------------------------------------------ provisioning

    def create_employee(
        self,
        *,
        first: str,
        last: str,
        email: str | None,
        work_email: str | None,
        onboarding_status: str,
        details: Record,
        path: str,
    ) -> Record:
        """A new employee with the record's remaining `details` filled in from the request."""
        with self._lock:
            employee_uuid = self.company.uuid_for("employee-created", self._employees_created)
            self._employees_created += 1
            employee = self.company.employee_record(
                employee_uuid,
                first=first,
                last=last,
                email=email,
                work_email=work_email,
                onboarding_status=onboarding_status,
            )
            employee.update(details)
            self._created_employees[employee_uuid] = employee
            self._employee_keys = None
            self.mutations.append(("POST", path))
        return employee

    def delete_employee(self, employee_uuid: str, path: str) -> Record | None:
        """Deletes the employee unless onboarded; returns the record it found, or None for an unknown one."""
        with self._lock:
            record = self.find_employee(employee_uuid)
            if record is None or record["onboarded"]:
                return record
            if self._created_employees.pop(employee_uuid, None) is None:
                index = self.company.employee_index(employee_uuid)
                assert index is not None  # find_employee found it among the generated employees
                self._deleted_employees.add(index)
            self._employee_keys = None
            self.mutations.append(("DELETE", path))
        return record

    def create_admin(self, *, first: str, last: str, email: str, phone: Any, path: str) -> Record | None:
        """A new admin; None when `email` already is an admin's, in any letter case."""
        with self._lock:
            if email.lower() in {existing.lower() for existing in self.admin_emails()}:
                return None
            admin = {
                "uuid": self.company.uuid_for("admin-created", len(self._created_admins)),
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": phone,
            }
            self._created_admins.append(admin)
            self.mutations.append(("POST", path))
        return admin
