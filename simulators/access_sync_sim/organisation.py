"""One organisation seen by both simulators: Gusto's employees and contractors are Guru's members.

Pass the same `Organisation` to `GustoSimulator(organisation=…)` and `GuruSimulator(organisation=…)`. Every
case a findings run must catch (or must not be fooled by) is planted by a rule on the person's index, so the
organisation is deterministic for any size, and `accounts()` tells by construction whom each Guru account
belongs to, for tests that derive the truth without matching addresses themselves.

Employees (index i):
- i % 10 == 9 left: a termination effective 7 to 66 days before `today`;
- i == 4 is scheduled to leave 21 days after `today` (Gusto already says `terminated`): not a leaver;
- i == 14 had a termination that was cancelled: still here;
- i % 7 == 3 has no Guru account, except employee 3, who has one under a private address Gusto does not
  know (an override in config/identities.json is the way to say it is theirs);
- the others are Guru members under their work address (their personal one when they have none, every
  sixth), in other letter case when i % 4 == 1, as a pending invite when i % 8 == 6 or i % 20 == 19.
Contractors (index i): businesses (i % 4 == 3) have no address and no account; i % 5 == 4 are inactive
(left); contractor 1 shares employee 5's personal address (hired after contracting), so employee 5's Guru
account matches two people; the rest are members when i % 3 != 2.
Gusto admins: employee 0 (personal address, other case), employee 10 (by work address), employee 9 (who
left), contractor 0, then outside accountants who are nobody's address.
Guru-only accounts: the simulator's admin and author (the integration's own users), a build bot, two
former interns, and employee 3's private address. Every leaver with an account is in at least two groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .guru.auth import ADMIN_EMAIL, AUTHOR_EMAIL
from .guru.data import MemberSpec
from .gusto.data import GeneratedCompany, Record, recase

SCHEDULED = 4  # the employee whose termination is still to come
CANCELLED = 14  # the employee whose termination was cancelled
PRIVATE_ADDRESS = 3  # the employee whose Guru account uses an address Gusto does not know
REHIRED = 5  # the employee whose personal address is also contractor 1's
FORMER_CONTRACTOR = 1
PRIVATE_NOTE = "employee 3's private address"


@dataclass(frozen=True)
class Account:
    """A Guru account as planted: its address and, by construction, whose it is."""

    email: str
    owner: str | None  # "gusto:employee:<uuid>" or "gusto:contractor:<uuid>"; None for nobody
    note: str  # how it was planted, for people reading a failing test
    shares_address_with: str | None = None  # a second person the address also belongs to
    pending: bool = False
    first_name: str = ""
    last_name: str = ""

    @property
    def gusto_knows_address(self) -> bool:
        """False for an address only the owner knows is theirs (no email or work_email in Gusto has it)."""
        return self.owner is not None and self.note != PRIVATE_NOTE


def _termination(company: GeneratedCompany, index: int, effective: date, today: date, active: bool = True) -> Record:
    return {
        "uuid": company.uuid_for("termination", index),
        "employee_uuid": company.uuid_for("employee", index),
        "effective_date": effective.isoformat(),
        "active": active,
        "cancelable": effective > today,
        "run_termination_payroll": False,
        "version": company.uuid_for("termination-version", index).replace("-", ""),
    }


class OrganisationCompany(GeneratedCompany):
    """The Gusto side of the organisation: the generated company with the planted people and admins."""

    def __init__(self, organisation: Organisation, *, employees: int, contractors: int, admins: int, seed: int):
        super().__init__(employees=employees, contractors=contractors, admins=admins, seed=seed)
        self.organisation = organisation

    def employee(self, index: int) -> Record:
        record = super().employee(index)
        today = self.organisation.today
        terminations: list[Record] = []
        if index % 10 == 9:
            terminations = [_termination(self, index, today - timedelta(days=7 + index % 60), today)]
        elif index == SCHEDULED:
            terminations = [_termination(self, index, today + timedelta(days=21), today)]
        elif index == CANCELLED:
            terminations = [_termination(self, index, today - timedelta(days=30), today, active=False)]
        record["terminations"] = terminations
        record["terminated"] = any(entry["active"] for entry in terminations)
        return record

    def contractor(self, index: int) -> Record:
        record = super().contractor(index)
        if index == FORMER_CONTRACTOR:
            record["email"] = self.employee_email(REHIRED)
        return record

    def admin(self, index: int) -> Record:
        """Employee 0, employee 10 by work address, employee 9 (left), contractor 0, then outsiders."""
        planned: list[tuple[str, int]] = [("employee", 0), ("work", 10), ("employee", 9), ("contractor", 0)]
        kind, person = planned[index] if index < len(planned) else ("outside", index)
        if kind == "outside":
            first, last, _ = self._person_name("outside-admin", index)
            first, last, email = (
                first.capitalize(),
                last.capitalize(),
                f"{first}.{last}.{index}@outside-accountants.test",
            )
        elif kind == "contractor":
            contractor = self.contractor(person)
            first, last, email = contractor["first_name"], contractor["last_name"], contractor["email"]
        else:
            employee = self.employee(person)
            first, last = employee["first_name"], employee["last_name"]
            email = employee["work_email"] if kind == "work" else recase(employee["email"])
        return {
            "uuid": self.uuid_for("admin", index),
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": f"800555{index % 10000:04d}",
        }


class Organisation:
    """`employees` employees and `contractors` contractors in Gusto, and their accounts in Guru."""

    def __init__(
        self,
        *,
        employees: int = 40,
        contractors: int = 10,
        admins: int = 5,
        seed: int = 1,
        today: date | None = None,
    ) -> None:
        if employees < 20 or contractors < 5 or admins < 5:
            raise ValueError("an organisation needs at least 20 employees, 5 contractors and 5 admins")
        self.today = today or datetime.now(UTC).date()
        self.company = OrganisationCompany(self, employees=employees, contractors=contractors, admins=admins, seed=seed)
        self.seed = seed
        self._accounts = self._plant_accounts()

    # ------------------------------------------------------------------ people

    def employee_key(self, index: int) -> str:
        return f"gusto:employee:{self.company.uuid_for('employee', index)}"

    def contractor_key(self, index: int) -> str:
        return f"gusto:contractor:{self.company.uuid_for('contractor', index)}"

    def has_left(self, key: str) -> bool:
        """Whether the person has left on `today`, by the planting rules (not by reading records)."""
        kind, _, uuid = key.removeprefix("gusto:").partition(":")
        if kind == "employee":
            index = self.company.employee_index(uuid)
            return index is not None and index % 10 == 9
        index = self.company.contractor_index(uuid)
        return index is not None and index % 5 == 4

    def admin_owners(self) -> list[tuple[str, str | None]]:
        """Each Gusto admin's uuid and, by construction, whose admin it is (None: an outsider)."""
        planted = [self.employee_key(0), self.employee_key(10), self.employee_key(9), self.contractor_key(0)]
        return [
            (self.company.uuid_for("admin", index), planted[index] if index < len(planted) else None)
            for index in range(self.company.admin_count)
        ]

    def people(self) -> list[str]:
        keys = [self.employee_key(i) for i in range(self.company.employee_count)]
        return keys + [self.contractor_key(i) for i in range(self.company.contractor_count)]

    # ------------------------------------------------------------------ Guru accounts

    def _plant_accounts(self) -> list[Account]:
        company = self.company
        accounts: list[Account] = []
        for i in range(company.employee_count):
            owner = self.employee_key(i)
            first, last = (name.capitalize() for name in company._person_name("employee", i)[:2])
            if i == PRIVATE_ADDRESS:
                self.private_address = f"{first.lower()}.{last.lower()}@personal.test"
                accounts.append(
                    Account(self.private_address, owner, "employee 3's private address", None, False, first, last)
                )
            if i % 7 == 3:
                continue
            address = company.employee_work_email(i) or company.employee_email(i)
            if i % 4 == 1:
                address = recase(address)
            shared = self.contractor_key(FORMER_CONTRACTOR) if i == REHIRED else None
            accounts.append(Account(address, owner, f"employee {i}", shared, i % 8 == 6 or i % 20 == 19, first, last))
        for i in range(company.contractor_count):
            contractor = company.contractor(i)
            email = contractor["email"]
            if not email or i % 3 == 2 or i == FORMER_CONTRACTOR:
                continue
            address = recase(email) if i % 4 == 1 else email
            note = f"contractor {i}"
            accounts.append(
                Account(
                    address,
                    self.contractor_key(i),
                    note,
                    None,
                    False,
                    contractor["first_name"],
                    contractor["last_name"],
                )
            )
        domain = company.domain
        accounts.append(Account(f"build-bot@{domain}", None, "a service account"))
        accounts += [Account(f"former.intern{k}@{domain}", None, "nobody Gusto knows") for k in (1, 2)]
        return accounts

    def accounts(self) -> list[Account]:
        """Every Guru account with its owner by construction; the simulator's admin and author first."""
        integration = [
            Account(ADMIN_EMAIL, None, "the Guru admin whose token access-sync uses"),
            Account(AUTHOR_EMAIL, None, "the simulator's author user"),
        ]
        return integration + self._accounts

    def guru_directory(self) -> list[MemberSpec]:
        """Members 2, 3, … of the Guru team (0 and 1 are the simulator's admin and author)."""
        specs = []
        for account in self._accounts:
            first, last = account.first_name, account.last_name
            if not first:  # an account of nobody: named after its address
                local = account.email.split("@", 1)[0].replace("-", ".").split(".")
                first, last = (part.capitalize() for part in [*local, ""][:2])
            specs.append(MemberSpec(account.email, first, last, account.pending))
        return specs

    def leaver_members(self) -> list[int]:
        """Guru member indexes of the accounts whose owner has left."""
        return [2 + i for i, account in enumerate(self._accounts) if account.owner and self.has_left(account.owner)]

    def leaver_groups(self, groups: int) -> dict[int, list[int]]:
        """Seeded memberships that put every leaver in two changeable groups (of `groups`, All Members first)."""
        changeable = max(1, groups - 2)  # the last group stays empty when there are three or more
        extra: dict[int, list[int]] = {}
        for k, member in enumerate(self.leaver_members()):
            for group in {1 + k % changeable, 1 + (k + 1) % changeable}:
                extra.setdefault(group, []).append(member)
        return extra

    def suggested_identities(self) -> list[dict[str, Any]]:
        """The config/identities.json a careful operator would write for this organisation."""
        return [
            {"account": f"guru:user:{ADMIN_EMAIL}", "ignore": "the admin user whose API token access-sync uses"},
            {"account": f"guru:user:{AUTHOR_EMAIL}", "ignore": "a test author account"},
            {"account": f"guru:user:build-bot@{self.company.domain}", "ignore": "CI service account"},
            {"account": f"guru:user:{self.private_address}", "person": self.employee_key(PRIVATE_ADDRESS)},
        ]
