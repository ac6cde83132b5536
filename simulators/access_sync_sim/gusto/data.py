"""The seeded company: its records generated from the seed and each record's index, so they cost nothing until read.

Every tenth employee (offset 7) is still onboarding and every tenth (offset 9) has been terminated; every
fourth contractor (offset 3) is a business without an email and every fifth (offset 4) has left. The
admins are mostly employees whose login email differs from the HR record in letter case only, plus one
contractor and one outside accountant who matches nobody.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from datetime import date, timedelta
from typing import Any

from ..responses import json_bytes
from ..seeds import DEPARTMENTS, FIRST_NAMES, LAST_NAMES

Record = dict[str, Any]

_TITLES = ("Associate", "Specialist", "Senior Specialist", "Lead", "Manager", "Director")
_COMPANY_WORDS = (
    ("Northwind", "Bluebird", "Cedar", "Harbor", "Summit", "Lumen"),
    ("Robotics", "Foods", "Labs"),
)
_ONBOARDING_STATUSES = (
    "admin_onboarding_incomplete",
    "self_onboarding_pending_invite",
    "self_onboarding_invited",
    "self_onboarding_invited_started",
    "self_onboarding_awaiting_admin_review",
)
_EPOCH = date(2015, 1, 5)


def recase(email: str) -> str:
    """Capitalise each dotted part of the local part: the same mailbox in a different letter case."""
    local, _, domain = email.partition("@")
    return ".".join(part[:1].upper() + part[1:] for part in local.split(".")) + "@" + domain


def _version(key: str) -> str:
    return hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()


class GeneratedCompany:
    """A company with `employees` employees, `contractors` contractors and `admins` admins, as first seeded."""

    def __init__(self, *, employees: int, contractors: int, admins: int, seed: int) -> None:
        self.employee_count = employees
        self.contractor_count = contractors
        self.admin_count = admins
        self.seed = seed
        self.company_uuid = self.uuid_for("company", 0)
        words = random.Random(f"{seed}:company")
        self.company_name = f"{words.choice(_COMPANY_WORDS[0])} {words.choice(_COMPANY_WORDS[1])}"
        self.domain = self.company_name.lower().replace(" ", "-") + ".test"
        self._lock = threading.Lock()  # guards building the UUID indexes below on first use
        self._employee_index: dict[str, int] | None = None
        self._contractor_index: dict[str, int] | None = None
        # Each record's JSON, rendered on first use: a listing then costs what a real API's does, not seconds.
        self._encoded: dict[tuple[str, int], bytes] = {}

    def uuid_for(self, kind: str, index: int) -> str:
        digest = hashlib.sha256(f"{self.seed}:{kind}:{index}".encode()).digest()[:16]
        return str(uuid.UUID(bytes=digest, version=4))

    def employee_index(self, employee_uuid: str) -> int | None:
        """The index of the generated employee with this UUID, or None."""
        with self._lock:
            if self._employee_index is None:
                self._employee_index = {self.uuid_for("employee", i): i for i in range(self.employee_count)}
            return self._employee_index.get(employee_uuid)

    def contractor_index(self, contractor_uuid: str) -> int | None:
        """The index of the contractor with this UUID, or None."""
        with self._lock:
            if self._contractor_index is None:
                self._contractor_index = {self.uuid_for("contractor", i): i for i in range(self.contractor_count)}
            return self._contractor_index.get(contractor_uuid)

    def employee_json(self, index: int) -> bytes:
        return self._encoded_record("employee", index)

    def contractor_json(self, index: int) -> bytes:
        return self._encoded_record("contractor", index)

    def _encoded_record(self, kind: str, index: int) -> bytes:
        encoded = self._encoded.get((kind, index))
        if encoded is None:  # two threads may both render it: the same bytes either way
            record = self.employee(index) if kind == "employee" else self.contractor(index)
            encoded = self._encoded[kind, index] = json_bytes(record)
        return encoded

    def prerender(self) -> None:
        """Renders every employee and contractor now, so that serving them later costs only the copying."""
        for index in range(self.employee_count):
            self.employee_json(index)
        for index in range(self.contractor_count):
            self.contractor_json(index)

    def _person_name(self, kind: str, index: int) -> tuple[str, str, random.Random]:
        rng = random.Random(f"{self.seed}:{kind}:{index}")
        return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng

    def employee_email(self, index: int) -> str:
        first, last, _ = self._person_name("employee", index)
        return f"{first}.{last}{index}@example.com"

    def employee_work_email(self, index: int) -> str | None:
        """The company address of an employee; every sixth (offset 5) has none."""
        if index % 6 == 5:
            return None
        first, last, _ = self._person_name("employee", index)
        return f"{first}.{last}{index}@{self.domain}"

    def employee_record(
        self,
        employee_uuid: str,
        *,
        first: str,
        last: str,
        email: str | None,
        work_email: str | None,
        onboarding_status: str,
    ) -> Record:
        """An employee as the API shows it, with only what a new hire has; generation fills in the rest."""
        onboarded = onboarding_status == "onboarding_completed"
        return {
            "uuid": employee_uuid,
            "first_name": first,
            "middle_initial": None,
            "last_name": last,
            "preferred_first_name": None,
            "email": email,
            "work_email": work_email,
            "phone": None,
            "company_uuid": self.company_uuid,
            "manager_uuid": None,
            "department": None,
            "department_uuid": None,
            "title": None,
            "employee_code": employee_uuid[:6],
            "version": _version(f"{employee_uuid}:1"),
            "terminated": False,
            "terminations": [],
            "onboarded": onboarded,
            "onboarding_status": onboarding_status,
            "current_employment_status": None,
            "jobs": [],
            "date_of_birth": None,
            "has_ssn": False,
            "ssn": "",
            "payment_method": "Check",
            "two_percent_shareholder": False,
            "historical": False,
        }

    def employee(self, index: int) -> Record:
        # Offset 0 is always active, which is where admins are drawn from.
        first, last, rng = self._person_name("employee", index)
        employee_uuid = self.uuid_for("employee", index)
        onboarding = index % 10 == 7
        status = rng.choice(_ONBOARDING_STATUSES) if onboarding else "onboarding_completed"
        record = self.employee_record(
            employee_uuid,
            first=first.capitalize(),
            last=last.capitalize(),
            email=self.employee_email(index),
            work_email=self.employee_work_email(index),
            onboarding_status=status,
        )
        hire_date = _EPOCH + timedelta(days=rng.randrange(3650))
        department = rng.choice(DEPARTMENTS)
        title = f"{rng.choice(_TITLES)}, {department}"
        record.update(
            phone=f"415555{index % 10000:04d}",
            manager_uuid=self.uuid_for("employee", (index - 1) // 8) if index else None,
            department=department,
            department_uuid=self.uuid_for("department", DEPARTMENTS.index(department)),
            title=title,
            current_employment_status=rng.choice(("full_time", "full_time", "part_time_twenty_plus_hours")),
            date_of_birth=(date(1960, 1, 1) + timedelta(days=rng.randrange(14000))).isoformat(),
            has_ssn=not onboarding,
            payment_method="Direct Deposit",
            jobs=[
                {
                    "uuid": self.uuid_for("job", index),
                    "employee_uuid": employee_uuid,
                    "title": title,
                    "hire_date": hire_date.isoformat(),
                    "primary": True,
                    "location_uuid": self.uuid_for("location", 0),
                }
            ],
        )
        if index % 10 == 9:
            record["terminated"] = True
            record["terminations"] = [
                {
                    "uuid": self.uuid_for("termination", index),
                    "employee_uuid": employee_uuid,
                    "effective_date": (hire_date + timedelta(days=rng.randrange(30, 900))).isoformat(),
                    "active": True,
                    "cancelable": False,
                    "run_termination_payroll": False,
                    "version": _version(f"{employee_uuid}:termination"),
                }
            ]
        return record

    def contractor(self, index: int) -> Record:
        first, last, rng = self._person_name("contractor", index)
        contractor_uuid = self.uuid_for("contractor", index)
        business = index % 4 == 3
        active = index % 5 != 4
        start = _EPOCH + timedelta(days=rng.randrange(3650))
        return {
            "uuid": contractor_uuid,
            "company_uuid": self.company_uuid,
            "type": "Business" if business else "Individual",
            "first_name": None if business else first.capitalize(),
            "middle_initial": None,
            "last_name": None if business else last.capitalize(),
            "business_name": f"{last.capitalize()} Consulting {index} LLC" if business else None,
            "ein": None,
            "has_ein": business,
            "email": None if business else f"{first}.{last}.c{index}@example.net",
            "is_active": active,
            "onboarded": True,
            "onboarding_status": "onboarding_completed",
            "wage_type": "Hourly" if index % 2 else "Fixed",
            "hourly_rate": "85.00" if index % 2 else "0.00",
            "start_date": start.isoformat(),
            "dismissal_date": None if active else (start + timedelta(days=rng.randrange(30, 700))).isoformat(),
            "department": None,
            "work_state": "CA",
            "payment_method": "Direct Deposit",
            "version": _version(f"{contractor_uuid}:1"),
        }

    def admin(self, index: int) -> Record:
        """Admin 0 is the primary payroll admin; the last admin matches nobody, the one before a contractor.

        The rest are employees whose login email differs from the HR record in letter case only.
        """
        count = self.admin_count
        person: tuple[str, str, str] | None = None
        if index == count - 2 and count >= 3 and self.contractor_count:
            contractor = self.contractor(0)
            person = (contractor["first_name"], contractor["last_name"], contractor["email"])
        elif (index < count - 1 or count == 1) and index * 10 < self.employee_count:
            first, last, _ = self._person_name("employee", index * 10)
            person = (first.capitalize(), last.capitalize(), recase(self.employee_email(index * 10)))
        if person is None:
            first, last, _ = self._person_name("outside-admin", index)
            person = (
                first.capitalize(),
                last.capitalize(),
                f"{first}.{last}.{index}@outside-accountants.test",
            )
        return {
            "uuid": self.uuid_for("admin", index),
            "first_name": person[0],
            "last_name": person[1],
            "email": person[2],
            "phone": f"800555{index % 10000:04d}",
        }

    def company(self) -> Record:
        primary = self.admin(0) if self.admin_count else None
        return {
            "uuid": self.company_uuid,
            "name": self.company_name,
            "trade_name": self.company_name.split()[0],
            "slug": self.domain.removesuffix(".test"),
            "ein": f"{12 + self.seed % 80:02d}-{int(self.company_uuid[:7], 16) % 10_000_000:07d}",
            "entity_type": "C-Corporation",
            "tier": "complete",
            "is_suspended": False,
            "company_status": "Approved",
            "is_partner_managed": False,
            "contractor_only": self.employee_count == 0,
            "join_date": "2019-03-01",
            "funding_type": "ach",
            "pay_schedule_type": "single",
            "locations": [
                {
                    "uuid": self.uuid_for("location", 0),
                    "street_1": "525 20th Street",
                    "city": "San Francisco",
                    "state": "CA",
                    "zip": "94107",
                    "country": "USA",
                    "active": True,
                }
            ],
            "compensations": {"hourly": [], "fixed": [], "paid_time_off": []},
            "primary_payroll_admin": (
                {key: primary[key] for key in ("first_name", "last_name", "email", "phone")} if primary else None
            ),
        }
