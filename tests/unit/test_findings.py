"""The findings rules on small handmade snapshots: whom an account belongs to, who has left, what is found,
how findings carry over, resolve once and announce themselves, and how remediation plans and breaks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from access_sync.errors import ConfigurationError
from access_sync.findings.files import latest_pointer, read_lines
from access_sync.findings.identity import people as findings_people
from access_sync.findings.remediation import remediate, remediation_id, requests_for
from access_sync.findings.runs import run_findings
from access_sync.identity.people import load_overrides, person_status
from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, ResourceType, UserTrait
from access_sync.models.sync_events import SyncEvent
from access_sync.stores.blob import LocalBlobStore
from access_sync.sync.connector import SyncContext
from access_sync.sync.engine import run_sync

TODAY = date(2026, 6, 15)
COMPANY = ResourceRef(resource_type="company", id="co")
ADMIN = "company:co:admin"


class _NoState(BaseModel):
    pass


class Handmade:
    """A connector that writes the given records."""

    state_model = _NoState
    base_url = "handmade"
    requests = 0

    def __init__(self, name: str, records: list[Resource | Entitlement | Grant]) -> None:
        self.name, self.records = name, records
        self.resource_types = [ResourceType(id="user", display_name="User")]

    def sync(self, ctx: SyncContext[_NoState]) -> bool:
        for record in self.records:
            if isinstance(record, Resource):
                ctx.sink.resource(record)
            elif isinstance(record, Entitlement):
                ctx.sink.entitlement(record)
            else:
                ctx.sink.grant(record)
        return True

    def close(self) -> None:
        """Nothing to close."""


def employee(uuid: str, email: str, work_email: str | None = None, ends: str | None = None) -> Resource:
    profile = {"email": email, "work_email": work_email, "terminated": ends is not None, "termination_date": ends}
    return Resource(
        resource_type="employee",
        id=uuid,
        display_name=uuid.capitalize(),
        parent=COMPANY,
        user=UserTrait(email=work_email or email, login=email),
        profile=profile,
    )


def contractor(uuid: str, email: str, active: bool = True) -> Resource:
    return Resource(
        resource_type="contractor",
        id=uuid,
        display_name=uuid.capitalize(),
        parent=COMPANY,
        status="enabled" if active else "disabled",
        user=UserTrait(email=email, login=email),
        profile={"email": email, "is_active": active, "dismissal_date": None if active else "2026-01-31"},
    )


def member(email: str, status: str = "ACTIVE") -> Resource:
    return Resource(
        resource_type="user",
        id=email,
        display_name=email,
        user=UserTrait(email=email, login=email),
        profile={"status": status},
    )


def group(gid: str, modifiable: bool = True) -> list[Resource | Entitlement]:
    record = Resource(resource_type="group", id=gid, display_name=gid, profile={"modifiable": modifiable})
    return [record, Entitlement.for_resource(record.ref, "member", "assignment", gid, ["user"])]


def in_group(gid: str, email: str) -> Grant:
    return Grant.of(f"group:{gid}:member", ResourceRef(resource_type="user", id=email))


Record = Resource | Entitlement | Grant
GUSTO: list[Record] = [
    Resource(resource_type="company", id="co", display_name="Co"),
    Entitlement.for_resource(COMPANY, "admin", "permission", "Co admin", ["employee", "contractor", "user"]),
    employee("ann", "ann@home.test", "Ann@corp.test"),
    employee("bo", "bo@home.test", "bo@corp.test", ends="2026-05-31"),  # left
    employee("cy", "cy@home.test", "cy@corp.test", ends="2026-07-01"),  # leaves later
    contractor("dee", "dee@contract.test", active=False),  # left
    contractor("eve", "shared@corp.test"),
    employee("fay", "shared@corp.test"),  # the same address as eve's
    Resource(resource_type="user", id="admin-x", display_name="Xavier", user=UserTrait(email="x@out.test", login="x")),
    Grant.of(ADMIN, ResourceRef(resource_type="employee", id="ann")),
    Grant.of(ADMIN, ResourceRef(resource_type="employee", id="bo")),
    Grant.of(ADMIN, ResourceRef(resource_type="user", id="admin-x")),
]


def guru_records(*emails: str) -> list[Record]:
    return [
        *group("all", modifiable=False),
        *group("eng"),
        *group("ops"),
        *(member(email) for email in emails),
        *(in_group("all", email) for email in emails),
        *(in_group("eng", email) for email in emails),
    ]


GURU_EMAILS = (
    " ANN@corp.test ",
    "bo@corp.test",
    "cy@corp.test",
    "dee@contract.test",
    "shared@corp.test",
    "bot@corp.test",
)


def write(dest: Path, connector: str, records: list[Record]) -> None:
    run_sync(Handmade(connector, records), LocalBlobStore(dest), SyncEvent(connector=connector))


def at(day: date, minute: int = 0) -> Callable[[], datetime]:
    return lambda: datetime(day.year, day.month, day.day, 8, minute, tzinfo=UTC)


def findings(dest: Path) -> dict[str, dict[str, Any]]:
    store = LocalBlobStore(dest)
    pointer = latest_pointer(store)
    assert pointer is not None
    return {finding["id"]: finding for finding in read_lines(store, pointer.path)}


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    write(tmp_path, "gusto", GUSTO)
    write(tmp_path, "guru", guru_records(*GURU_EMAILS))
    return tmp_path


# ---------------------------------------------------------------------- who is who


def test_a_person_has_left_once_the_termination_date_has_come_and_a_contractor_once_inactive() -> None:
    assert person_status(employee("a", "a@x.test", ends="2026-06-15").model_dump(), TODAY) == ("left", "2026-06-15")
    assert person_status(employee("a", "a@x.test", ends="2026-06-16").model_dump(), TODAY) == (
        "scheduled_to_leave",
        "2026-06-16",
    )
    assert person_status(employee("a", "a@x.test").model_dump(), TODAY) == ("active", None)
    assert person_status(contractor("c", "c@x.test", active=False).model_dump(), TODAY) == ("left", "2026-01-31")
    terminated_without_a_date = {**employee("a", "a@x.test").model_dump(), "status": "disabled"}
    terminated_without_a_date["profile"] = {**terminated_without_a_date["profile"], "terminated": True}
    assert person_status(terminated_without_a_date, TODAY) == ("left", None)


def test_addresses_match_ignoring_letter_case_and_surrounding_spaces_once_per_person() -> None:
    people = findings_people([r.model_dump() for r in GUSTO if isinstance(r, Resource)], TODAY)
    assert [p.id for p in people.matching(["  ann@CORP.test "])] == ["ann"]
    assert [p.id for p in people.matching(["ann@home.test", "Ann@corp.test"])] == ["ann"]
    assert sorted(p.id for p in people.matching(["shared@corp.test"])) == ["eve", "fay"]
    assert people.matching(["nobody@corp.test", None]) == []


@pytest.mark.parametrize(
    "content, complaint",
    [
        ("{not json", "is not JSON"),
        ('{"account": "guru:user:a"}', "must be a JSON list"),
        ('[{"account": "guru:user:a", "person": "gusto:employee:x", "ignore": "why"}]', "entry 1"),
        ('[{"account": "guru:user:a"}]', "exactly one of person or ignore"),
        ('[{"account": "user:a", "ignore": "why"}]', "entry 1: account"),
        ('[{"account": "guru:user:a", "ignore": "x"}, {"account": "guru:user:a", "ignore": "y"}]', "listed twice"),
    ],
)
def test_a_broken_override_file_is_one_sentence_naming_the_entry(tmp_path: Path, content: str, complaint: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "identities.json").write_text(content)
    with pytest.raises(ConfigurationError, match=complaint):
        load_overrides(LocalBlobStore(tmp_path))


# ---------------------------------------------------------------------- what is found


def test_each_kind_is_found_as_the_rules_say(dest: Path) -> None:
    run_findings(LocalBlobStore(dest), clock=at(TODAY))
    found = findings(dest)
    assert {finding_id: f["kind"] for finding_id, f in found.items()} == {
        "leaver_with_access:guru:user:bo@corp.test": "leaver_with_access",
        "leaver_with_access:guru:user:dee@contract.test": "leaver_with_access",
        "ambiguous_identity:guru:user:shared@corp.test": "ambiguous_identity",
        "unmatched_account:guru:user:bot@corp.test": "unmatched_account",
        "admin_not_current_worker:gusto:employee:bo": "admin_not_current_worker",
        "admin_not_current_worker:gusto:user:admin-x": "admin_not_current_worker",
    }
    bo = found["leaver_with_access:guru:user:bo@corp.test"]
    assert bo["severity"] == "high" and bo["person"]["status"] == "left"
    assert bo["access"] == {"grants": 1, "entitlements": ["group:eng:member"]}  # All Members is not counted
    assert sorted(p["id"] for p in found["ambiguous_identity:guru:user:shared@corp.test"]["candidates"]) == [
        "eve",
        "fay",
    ]
    assert all("candidates" not in f for f in found.values() if f["kind"] != "ambiguous_identity")


def test_overrides_map_ignore_and_settle_an_ambiguous_address(dest: Path) -> None:
    overrides = [
        {"account": "guru:user:bot@corp.test", "ignore": "CI"},
        {"account": "guru:user:shared@corp.test", "person": "gusto:contractor:eve"},
        {"account": "gusto:user:admin-x", "ignore": "our accountant"},
        {"account": "guru:user:cy@corp.test", "person": "gusto:employee:gone"},
    ]
    (dest / "config").mkdir()
    (dest / "config" / "identities.json").write_text(json.dumps(overrides))
    run_findings(LocalBlobStore(dest), clock=at(TODAY))
    found = findings(dest)
    assert set(found) == {
        "leaver_with_access:guru:user:bo@corp.test",
        "leaver_with_access:guru:user:dee@contract.test",
        "admin_not_current_worker:gusto:employee:bo",
        "unmatched_account:guru:user:cy@corp.test",
    }
    assert "gusto:employee:gone" in found["unmatched_account:guru:user:cy@corp.test"]["message"]


def test_a_scheduled_termination_becomes_a_leaver_on_its_date(dest: Path) -> None:
    run_findings(LocalBlobStore(dest), clock=at(date(2026, 7, 1)))
    assert "leaver_with_access:guru:user:cy@corp.test" in findings(dest)


def test_a_completed_run_is_handed_on_after_its_manifest_and_latest_json(dest: Path) -> None:
    store = LocalBlobStore(dest)
    seen: list[tuple[str, bool]] = []
    report = run_findings(
        store, completed=lambda folder, manifest: seen.append((folder, latest_pointer(store) is not None))
    )
    assert seen == [(report.path, True)]


def test_with_one_connector_there_is_no_run(tmp_path: Path) -> None:
    write(tmp_path, "gusto", GUSTO)
    report = run_findings(LocalBlobStore(tmp_path))
    assert report.skipped and "only Gusto's so far" in report.skipped and "access-sync sync guru" in report.skipped
    assert latest_pointer(LocalBlobStore(tmp_path)) is None


# ---------------------------------------------------------------------- across runs


def test_a_finding_keeps_its_first_seen_at_resolves_once_and_comes_back_new(dest: Path) -> None:
    store = LocalBlobStore(dest)
    bo = "leaver_with_access:guru:user:bo@corp.test"
    run_findings(store, clock=at(TODAY, 0))
    first = findings(dest)[bo]
    run_findings(store, clock=at(TODAY, 1))
    second = findings(dest)[bo]
    assert second["first_seen_at"] == first["first_seen_at"] and second["last_seen_at"] > first["last_seen_at"]

    write(dest, "guru", guru_records(*(e for e in GURU_EMAILS if e != "bo@corp.test")))
    report = run_findings(store, clock=at(TODAY, 2))
    resolved = findings(dest)[bo]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] == "2026-06-15T08:02:00Z"
    assert resolved["first_seen_at"] == first["first_seen_at"] and report.counts["resolved"] == 1
    run_findings(store, clock=at(TODAY, 3))
    assert bo not in findings(dest)  # recorded once

    write(dest, "guru", guru_records(*GURU_EMAILS))
    run_findings(store, clock=at(TODAY, 4))
    assert findings(dest)[bo]["first_seen_at"] == "2026-06-15T08:04:00Z"


def test_events_announce_new_and_resolved_findings_up_to_the_maximum(dest: Path) -> None:
    store = LocalBlobStore(dest)
    sent: list[tuple[str, dict[str, Any]]] = []
    run_findings(store, clock=at(TODAY, 0), announce=lambda kind, detail: sent.append((kind, detail)), events_max=4)
    assert [kind for kind, _ in sent] == ["Finding Opened"] * 4 + ["Findings Left Out"]
    assert sent[-1][1]["Finding Opened"] == 2 and all(detail["run_id"] for _, detail in sent)
    sent.clear()
    run_findings(store, clock=at(TODAY, 1), announce=lambda kind, detail: sent.append((kind, detail)))
    assert sent == []  # nothing new, nothing resolved


# ---------------------------------------------------------------------- remediation


def leaver(member_id: str, *entitlements: str) -> dict[str, Any]:
    return {
        "id": f"leaver_with_access:guru:user:{member_id}",
        "kind": "leaver_with_access",
        "status": "open",
        "subject": {"connector": "guru", "resource_type": "user", "id": member_id},
        "access": {"grants": len(entitlements), "entitlements": list(entitlements)},
    }


def test_remediation_request_ids_are_remediate_and_32_hex_of_the_finding_and_target() -> None:
    finding = leaver("bo@corp.test", "group:eng:member")
    grant = "group:eng:member:user:bo@corp.test"
    digest = hashlib.sha256(f"{finding['id']}|{grant}".encode()).hexdigest()[:32]
    (revoke,) = requests_for(finding, "revoke_groups")
    assert revoke == {"request_id": f"remediate:{digest}", "connector": "guru", "action": "revoke", "grant_id": grant}
    (remove,) = requests_for(finding, "remove_account")
    assert (
        remove["request_id"] == remediation_id(finding["id"], "bo@corp.test") and remove["action"] == "delete_resource"
    )
    assert list(requests_for({**finding, "status": "resolved"}, "remove_account")) == []
    assert list(requests_for({**finding, "kind": "unmatched_account"}, "remove_account")) == []
    assert list(requests_for(finding, "off")) == []


def test_the_breaker_sends_nothing_above_the_maximum_and_everything_at_it() -> None:
    many = [leaver(f"p{i}@corp.test", "group:a:member", "group:b:member") for i in range(3)]
    sent: list[str] = []
    announced: list[tuple[str, dict[str, Any]]] = []
    report = remediate(many, "revoke_groups", limit=5, send=sent.append, announce=lambda k, d: announced.append((k, d)))
    assert report.halted and report.planned == 6 and sent == [] and "6 requests were held back" in report.sentence()
    assert [kind for kind, _ in announced] == ["Remediation Halted"] and announced[0][1]["held_back"] == 6

    report = remediate(many, "revoke_groups", limit=6, send=sent.append)
    assert not report.halted and report.sent == 6 and len({json.loads(body)["request_id"] for body in sent}) == 6


def test_a_dry_run_lists_and_neither_sends_nor_announces() -> None:
    many = [leaver(f"p{i}@corp.test") for i in range(12)]
    sent: list[str] = []
    announced: list[str] = []
    report = remediate(
        many, "remove_account", dry_run=True, send=sent.append, announce=lambda k, d: announced.append(k)
    )
    assert report.halted and sent == [] and announced == []  # 12 > the default maximum of 10
    report = remediate(many[:3], "remove_account", dry_run=True, send=sent.append)
    assert len(report.requests) == 3 and report.sent == 0 and sent == []


def test_run_ids_sort_after_the_previous_run_even_within_one_second(dest: Path) -> None:
    store = LocalBlobStore(dest)
    clock = at(TODAY, 5)
    ids = [str(run_findings(store, clock=clock).run_id) for _ in range(6)]
    assert ids == sorted(ids) and len(set(ids)) == 6
    pointer = latest_pointer(store)
    assert pointer is not None and max(ids) == pointer.run_id
    assert (datetime(2026, 6, 15, tzinfo=UTC) + timedelta(hours=8, minutes=5)).strftime("%Y%m%dT%H%M") in ids[0]
