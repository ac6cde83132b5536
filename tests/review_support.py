"""A small organisation known to both Guru and Gusto, written as real snapshots through the sync engine.

Gusto (company "Acme"): Maya manages Ann, Leo (left), Sam (leaving later) and the two Danas; Carl is a
contractor; Olga is an admin who matches nobody. Guru: accounts for most of them (Ann's address differs in
letter case and spaces), an account that belongs to nobody, and one that matches both Danas.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from access_sync.cli.main import main
from access_sync.models import ids
from access_sync.models.snapshot import Entitlement, Grant, Resource, ResourceRef, ResourceType, UserTrait
from access_sync.stores.blob import BlobStore
from access_sync_dev.fixture_syncer import FixtureSyncer, write_snapshot
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator

COMPANY = "c0ffee00-0000-4000-8000-000000000001"
ADMIN = ids.entitlement_id("company", COMPANY, "admin")
ENGINEERING = ids.entitlement_id("group", "g-eng", "member")
FINANCE = ids.entitlement_id("group", "g-fin", "member")


class Clock:
    """A clock the test moves on: every reading is one second after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def employee(
    uuid: str,
    name: str,
    *,
    email: str | None,
    work_email: str | None = None,
    manager: str | None = None,
    status: str = "enabled",
    termination_date: str | None = None,
) -> Resource:
    return Resource(
        resource_type="employee",
        id=uuid,
        display_name=name,
        parent=ResourceRef(resource_type="company", id=COMPANY),
        status="disabled" if status == "disabled" else "enabled",
        user=UserTrait(email=work_email or email, login=email or work_email),
        profile={
            "email": email,
            "work_email": work_email,
            "manager_uuid": manager,
            "termination_date": termination_date,
        },
    )


def gusto_records() -> FixtureSyncer:
    company = Resource(resource_type="company", id=COMPANY, display_name="Acme")
    people = [
        employee("e-maya", "Maya Manager", email="maya.home@mail.test", work_email="maya@acme.test"),
        employee("e-ann", "Ann Active", email="ann@acme.test", manager="e-maya"),
        employee(
            "e-leo",
            "Leo Left",
            email="leo@acme.test",
            manager="e-maya",
            status="disabled",
            termination_date="2026-01-10",
        ),
        employee("e-sam", "Sam Leaving", email="sam@acme.test", manager="e-maya", termination_date="2999-01-01"),
        employee("e-dana1", "Dana One", email="dana@acme.test", manager="e-ann"),
        employee("e-dana2", "Dana Two", email="dana.two@mail.test", work_email="DANA@acme.test"),
        Resource(
            resource_type="contractor",
            id="k-carl",
            display_name="Carl Contractor",
            parent=ResourceRef(resource_type="company", id=COMPANY),
            user=UserTrait(email="carl@contract.test", login="carl@contract.test"),
            profile={"email": "carl@contract.test"},
        ),
        Resource(
            resource_type="user",
            id="u-olga",
            display_name="Olga Outside",
            parent=ResourceRef(resource_type="company", id=COMPANY),
            user=UserTrait(email="olga@else.test", login="olga@else.test"),
        ),
    ]
    admin = Entitlement.for_resource(
        company.ref, "admin", "permission", "Acme admin", ["employee", "contractor", "user"]
    )
    grants = [
        Grant.of(ADMIN, ResourceRef(resource_type=t, id=i)) for t, i in (("employee", "e-maya"), ("user", "u-olga"))
    ]
    types = [
        ResourceType(id=t, display_name=t.title(), traits=[] if t == "company" else ["user"])
        for t in ("company", "employee", "contractor", "user")
    ]
    return FixtureSyncer("gusto", types, [company, *people], [admin], grants)


GURU_MEMBERS = {
    "maya@acme.test": "Maya Manager",
    " ANN@Acme.test ": "Ann Active",
    "leo@acme.test": "Leo Left",
    "sam@acme.test": "Sam Leaving",
    "dana@acme.test": "Dana",
    "ghost@else.test": "Ghost Account",
    "carl@contract.test": "Carl Contractor",
}
GURU_GROUPS = {"g-eng": "Engineering", "g-fin": "Finance"}


def guru_records(
    memberships: dict[str, list[str]] | None = None,
    members: dict[str, str] = GURU_MEMBERS,
    group_names: dict[str, str] = GURU_GROUPS,
) -> FixtureSyncer:
    """`memberships`: group id → member ids (default: everyone in Engineering; Maya and Leo in Finance)."""
    memberships = memberships or {"g-eng": list(GURU_MEMBERS), "g-fin": ["maya@acme.test", "leo@acme.test"]}
    users = [
        Resource(resource_type="user", id=member, display_name=name, user=UserTrait(email=member.strip(), login=member))
        for member, name in members.items()
    ]
    groups = [Resource(resource_type="group", id=gid, display_name=name) for gid, name in group_names.items()]
    entitlements = [
        Entitlement.for_resource(g.ref, "member", "assignment", f"{g.display_name} member", ["user"]) for g in groups
    ]
    grants = [
        Grant.of(ids.entitlement_id("group", gid, "member"), ResourceRef(resource_type="user", id=member))
        for gid, members in memberships.items()
        for member in members
    ]
    types = [
        ResourceType(id="user", display_name="User", traits=["user"]),
        ResourceType(id="group", display_name="Group", traits=["group"]),
    ]
    return FixtureSyncer("guru", types, [*users, *groups], entitlements, grants)


def write_findings(store: BlobStore, records: list[dict[str, Any]], run_id: str = "20260302T085900Z-0f0f0f0f") -> None:
    """A findings run in the documented layout: latest.json → <path>/findings/part-00000.jsonl.gz."""
    path = f"findings/run_date=2026-03-02/run_id={run_id}"
    lines = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
    store.put_bytes(f"{path}/findings/part-00000.jsonl.gz", gzip.compress(lines.encode()))
    store.put_bytes(f"{path}/manifest.json", json.dumps({"run_id": run_id, "counts": {}}).encode())
    store.put_bytes(
        "findings/latest.json",
        json.dumps({"run_id": run_id, "path": path, "completed_at": "2026-03-02T08:59:30Z"}).encode(),
    )


def finding(kind: str, connector: str, resource_type: str, resource_id: str, status: str = "open") -> dict[str, Any]:
    return {
        "id": f"{kind}:{connector}:{resource_type}:{resource_id}",
        "kind": kind,
        "severity": "high",
        "status": status,
        "subject": {"connector": connector, "resource_type": resource_type, "id": resource_id},
    }


def correlated_org(store: BlobStore, clock: Callable[[], datetime]) -> None:
    write_snapshot(store, gusto_records(), clock)
    write_snapshot(store, guru_records(), clock)


@dataclass
class Org:
    """Simulated Guru and Gusto on loopback ports, and a DEST to sync them into with the CLI."""

    guru: GuruSimulator
    gusto: GustoSimulator
    out: Path
    credentials: Path

    def sync(self) -> None:
        assert main(["sync", "guru", "--out", str(self.out)]) == 0
        assert main(["sync", "gusto", "--credentials", str(self.credentials), "--out", str(self.out)]) == 0


def simulated_org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """For a fixture: the simulators served and the CLI's environment pointing at them."""
    guru, gusto = GuruSimulator(members=30, groups=5), GustoSimulator(employees=12, contractors=3, admins=3)
    credentials = tmp_path / "gusto.json"
    credentials.write_text(json.dumps(gusto.issue_credentials()))
    monkeypatch.setenv("GURU_USER_EMAIL", guru.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", guru.ADMIN_TOKEN)
    monkeypatch.delenv("PROVISION_QUEUE_URL", raising=False)
    with guru.serve() as guru_root, gusto.serve() as gusto_root:
        monkeypatch.setenv("GURU_BASE_URL", f"{guru_root}/api/v1")
        monkeypatch.setenv("GUSTO_BASE_URL", gusto_root)
        yield Org(guru, gusto, tmp_path / "dest", credentials)


def start(out: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main(["review", "start", "--out", out, *extra]) == 0
    campaign_id = capsys.readouterr().out.strip()
    assert campaign_id.count("-") == 1 and "T" in campaign_id
    return campaign_id


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue())
    return path


def campaign_rows(store: BlobStore, campaign: Any) -> list[dict[str, str]]:
    """The rows of a campaign's items.csv."""
    raw = store.get_bytes(f"reviews/{campaign.campaign_id}/items.csv") or b""
    return read_csv(raw.decode())
