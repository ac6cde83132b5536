"""Two snapshots in, open findings out: the rules of docs/findings.md, streamed.

Memory stays small whatever the team's size: Gusto's people are indexed by address (one tuple each), Guru's
group memberships are counted per member as compact arrays of entitlement numbers, and Guru's users stream
past one at a time, each finding leaving as soon as it is known.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator
from typing import Any

from access_sync.findings.identity import Person
from access_sync.identity.people import PERSON_TYPES, Identities, Match
from access_sync.models import ids
from access_sync.models.digests import digest64
from access_sync.models.findings import SEVERITY, Finding, account_key, finding_id
from access_sync.snapshot.reader import SnapshotReader
from access_sync.snapshot.sorting import leading_strings


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class GuruAccess:
    """Which changeable groups each Guru member is in.

    Built-in groups (Guru's All Members, `modifiable: false`) are left out: every member is in them, and
    nobody can be removed from them, so they say nothing about a person's access beyond the account itself.
    """

    def __init__(self, reader: SnapshotReader) -> None:
        built_in = {
            ids.entitlement_id("group", str(record["id"]), "member")
            for record in _groups(reader)
            if (record.get("profile") or {}).get("modifiable") is False
        }
        self.entitlements: list[str] = []
        numbers: dict[str, int] = {}
        self._held: dict[int, array[int]] = {}  # digest of the member id → numbers of its groups' entitlements
        for _, entitlement, principal_type, principal_id in reader.grants():
            if principal_type != "user" or entitlement in built_in:
                continue
            number = numbers.get(entitlement)
            if number is None:
                number = numbers[entitlement] = len(self.entitlements)
                self.entitlements.append(entitlement)
            member = digest64(principal_id)
            held = self._held.get(member)
            if held is None:
                held = self._held[member] = array("I")
            held.append(number)

    def of(self, member_id: str) -> list[str]:
        return [self.entitlements[number] for number in self._held.get(digest64(member_id), ())]


def _groups(reader: SnapshotReader) -> Iterator[dict[str, Any]]:
    """The snapshot's group records, parsing no other line whose type is written first (as the models do)."""
    for line in reader.lines("resources"):
        fast = leading_strings(line, '{"resource_type":"')
        if fast is None or fast[0] == "group":
            record = json.loads(line)
            if record.get("resource_type") == "group":
                yield record


def _subject(connector: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "connector": connector,
        "resource_type": record["resource_type"],
        "id": str(record["id"]),
        "display_name": record.get("display_name"),
        "email": (record.get("user") or {}).get("email"),
    }


def _finding(
    kind: str, subject: dict[str, Any], person: Person | None, entitlements: list[str], message: str
) -> Finding:
    return {
        "id": finding_id(kind, subject["connector"], subject["resource_type"], subject["id"]),
        "kind": kind,
        "severity": SEVERITY[kind],
        "subject": subject,
        "person": person.as_record() if person else None,
        "access": {"grants": len(entitlements), "entitlements": entitlements},
        "message": message,
    }


def _gone(person: Person) -> str:
    """How a person's leaving reads in a sentence."""
    when = person.termination_date
    if person.resource_type == "contractor":
        return "is an inactive contractor in Gusto" + (f" (dismissed {when})" if when else "")
    return f"left on {when} (Gusto)" if when else "has left (Gusto)"


def _account_words(subject: dict[str, Any], pending: bool) -> str:
    handle = subject.get("email") or subject["id"]
    return f"a pending Guru invite ({handle})" if pending else f"the Guru account {handle}"


def guru_finding(record: dict[str, Any], match: Match[Person], entitlements: list[str]) -> Finding | None:
    """The finding about one Guru user, or None when it belongs to a current worker or is ignored."""
    if match.ignored is not None:
        return None
    subject = _subject("guru", record)
    account = _account_words(subject, (record.get("profile") or {}).get("status") == "PENDING")
    groups = _plural(len(entitlements), "group")
    if match.person is not None:
        if not match.person.has_left:
            return None
        message = (
            f"{match.person.display_name} {_gone(match.person)} but still has {account} with {groups}: "
            "remove the account in Guru (or run the leaver remediation)."
        )
        return _finding("leaver_with_access", subject, match.person, entitlements, message)
    if match.candidates:
        names = ", ".join(f"{p.display_name} ({p.resource_type} {p.id})" for p in match.candidates)
        message = (
            f"{account[0].upper()}{account[1:]} matches {len(match.candidates)} Gusto people ({names}): "
            "say which one it belongs to in config/identities.json."
        )
        finding = _finding("ambiguous_identity", subject, None, entitlements, message)
        finding["candidates"] = [person.as_record() for person in match.candidates]
        return finding
    why = (
        f"config/identities.json maps it to {match.missing_override}, whom the Gusto snapshot does not have"
        if match.missing_override
        else "it belongs to no Gusto employee or contractor"
    )
    message = (
        f"{account[0].upper()}{account[1:]} has {groups} but {why}: map it to a person or mark it ignored "
        "in config/identities.json, or remove it."
    )
    return _finding("unmatched_account", subject, None, entitlements, message)


def admin_finding(record: dict[str, Any], match: Match[Person], entitlements: list[str]) -> Finding | None:
    """The finding about one Gusto admin, or None when the admin is a current worker or is ignored."""
    if match.ignored is not None or (match.person is not None and not match.person.has_left):
        return None
    subject = _subject("gusto", record)
    who = f"{subject['display_name']} <{subject['email']}>" if subject.get("email") else str(subject["display_name"])
    if match.person is not None:
        message = (
            f"{who} {_gone(match.person)} but is still a Gusto company admin: remove the admin in the Gusto UI "
            "(Company settings → Admins; Gusto's API cannot)."
        )
    else:
        message = (
            f"{who} is a Gusto company admin but no employee or contractor: remove the admin in the Gusto UI, "
            "or list the account as expected (ignore) in config/identities.json."
        )
    return _finding("admin_not_current_worker", subject, match.person, entitlements, message)


class Analysis:
    """The open findings of one pair of snapshots (who has left was decided when `identities` was built)."""

    def __init__(self, guru: SnapshotReader, gusto: SnapshotReader, identities: Identities[Person]) -> None:
        self.guru, self.gusto, self.identities = guru, gusto, identities

    def findings(self) -> Iterator[Finding]:
        yield from self._admin_findings()
        yield from self._guru_findings()

    def _admin_findings(self) -> Iterator[Finding]:
        admin_of: dict[str, list[str]] = {}
        for grant in self.gusto.records("grants"):
            principal = grant["principal"]
            key = account_key("gusto", principal["resource_type"], str(principal["id"]))
            admin_of.setdefault(key, []).append(grant["entitlement"])
        for record in self.gusto.records("resources"):
            key = account_key("gusto", record["resource_type"], str(record["id"]))
            entitlements = admin_of.get(key)
            if entitlements is None:
                continue
            if record["resource_type"] in PERSON_TYPES:
                match = self.identities.of_person(key)
            else:
                match = self.identities.match(key, [])
            if (finding := admin_finding(record, match, entitlements)) is not None:
                yield finding

    def _guru_findings(self) -> Iterator[Finding]:
        access = GuruAccess(self.guru)
        for record in self.guru.records("resources"):
            if record.get("resource_type") != "user":
                continue
            member = str(record["id"])
            addresses = (member, (record.get("user") or {}).get("email"))
            match = self.identities.match(account_key("guru", "user", member), addresses)
            if (finding := guru_finding(record, match, access.of(member))) is not None:
                yield finding
