"""`review report`: per item the decision, who applied it and when, the outcome, and what the newest snapshot says
(verified / pending / not_removed, kept / removed_elsewhere), with the sha256 of every manifest used."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from access_sync.models.provisioning import ProvisioningOutcome
from access_sync.review.apply import ApplyOptions, CarryOut, apply_decisions
from access_sync.review.evidence import Outcome, _Newest, verification
from access_sync.review.records import Campaign, SnapshotUsed
from access_sync.review.report import write_report
from access_sync.snapshot.layout import iso_now
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import LocalBlobStore
from tests.review_support import (
    ADMIN,
    ENGINEERING,
    FINANCE,
    GURU_MEMBERS,
    Clock,
    campaign_rows,
    guru_records,
    write_csv,
    write_snapshot,
)

LEO, ANN, MAYA = "user:leo@acme.test", "user: ANN@Acme.test ", "user:maya@acme.test"


class RecordingProvisioning:
    """Files each outcome where the provisioning service does, completed at the test clock's time."""

    def __init__(self, store: LocalBlobStore, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def open(self, connectors: frozenset[str]) -> CarryOut:
        return self.carry_out

    def carry_out(self, raw: str) -> ProvisioningOutcome:
        request = json.loads(raw)
        gusto = request["connector"] == "gusto"
        outcome = ProvisioningOutcome(
            request_id=request["request_id"],
            connector=request["connector"],
            action="revoke",
            status="unsupported" if gusto else "succeeded",
            message="Gusto has no API to remove a company admin; remove the admin in the Gusto UI." if gusto else "ok",
            completed_at=iso_now(self.clock()),
        )
        self.store.put_bytes(f"provisioning/results/{outcome.request_id}.json", outcome.model_dump_json().encode())
        return outcome


def decisions(store: LocalBlobStore, campaign: Campaign, path: Path) -> Path:
    """Revoke Leo (both groups) and Olga's admin; keep Maya's Finance and Ann's Engineering."""
    rows = campaign_rows(store, campaign)
    for row in rows:
        if row["account_id"] == LEO or row["account_id"] == "user:u-olga":
            row["decision"] = "revoke"
        elif (row["account_id"], row["entitlement_id"]) in ((MAYA, FINANCE), (ANN, ENGINEERING)):
            row["decision"], row["comment"] = "keep", "needs it"
    return write_csv(path, rows)


@pytest.fixture
def applied(store: LocalBlobStore, clock: Clock, campaign: Campaign, tmp_path: Path) -> Campaign:
    path = decisions(store, campaign, tmp_path / "decisions.csv")
    options = ApplyOptions("alice", "carried_out")
    apply_decisions(store, campaign.campaign_id, path, RecordingProvisioning(store, clock).open, options, clock)
    return campaign


def report(store: LocalBlobStore, campaign: Campaign, clock: Clock) -> dict[str, Any]:
    write_report(store, campaign.campaign_id, "auditor", clock())
    evidence: dict[str, Any] = json.loads((store.root / f"reviews/{campaign.campaign_id}/evidence.json").read_text())
    return evidence


def states(evidence: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(i["account_id"], i["entitlement_id"]): i["verification"] for i in evidence["items"] if i["decision"]}


def test_before_a_new_snapshot_revokes_are_pending_and_keeps_kept(store, applied, clock) -> None:
    evidence = report(store, applied, clock)
    assert states(evidence) == {
        (LEO, ENGINEERING): "pending",
        (LEO, FINANCE): "pending",
        ("user:u-olga", ADMIN): "pending",
        (MAYA, FINANCE): "kept",
        (ANN, ENGINEERING): "kept",
    }
    assert evidence["summary"]["decisions"] == {"revoke": 3, "keep": 2, "undecided": applied.items - 5}


def test_a_newer_snapshot_verifies_removals_and_shows_what_was_not_removed(store, applied, clock) -> None:
    # Leo left Engineering but is still in Finance; Ann was removed from Engineering by someone else.
    members = [m for m in GURU_MEMBERS if m not in ("leo@acme.test", " ANN@Acme.test ")]
    write_snapshot(store, guru_records({"g-eng": members, "g-fin": ["maya@acme.test", "leo@acme.test"]}), clock)
    from tests.review_support import gusto_records

    write_snapshot(store, gusto_records(), clock)  # Olga is still an admin: the manual task is not done
    evidence = report(store, applied, clock)
    assert states(evidence) == {
        (LEO, ENGINEERING): "verified",
        (LEO, FINANCE): "not_removed",
        ("user:u-olga", ADMIN): "not_removed",
        (MAYA, FINANCE): "kept",
        (ANN, ENGINEERING): "removed_elsewhere",
    }
    assert evidence["summary"]["verification"] == {
        "verified": 1,
        "pending": 0,
        "not_removed": 2,
        "kept": 1,
        "removed_elsewhere": 1,
    }
    [task] = evidence["manual_tasks"]
    assert task["account"] == "Olga Outside <olga@else.test>" and "Gusto UI" in task["what_to_do"]
    assert task["verification"] == "not_removed"


def test_every_item_names_who_applied_it_when_and_the_outcome(store, applied, clock) -> None:
    evidence = report(store, applied, clock)
    leo = next(i for i in evidence["items"] if (i["account_id"], i["entitlement_id"]) == (LEO, ENGINEERING))
    [application] = evidence["applications"]
    assert leo["applied_by"] == "alice" == application["applied_by"]
    assert leo["applied_at"] == application["applied_at"] and leo["apply_id"] == application["apply_id"]
    assert leo["request_id"] == f"review:{applied.campaign_id}:{leo['item_id']}"
    assert leo["outcome"]["status"] == "succeeded" and leo["outcome"]["completed_at"]
    undecided = next(i for i in evidence["items"] if not i["decision"])
    assert undecided["verification"] == "" and undecided["outcome"] is None and undecided["applied_by"] is None
    assert evidence["generated_by"] == "auditor" and len(evidence["items"]) == applied.items
    kept = next(i for i in evidence["items"] if i["decision"] == "keep")
    assert kept["comment"] == "needs it" and kept["request_id"] is None


def test_the_report_lists_every_manifest_it_used_with_its_sha256(store, applied, clock) -> None:
    write_snapshot(store, guru_records(), clock)
    evidence = report(store, applied, clock)
    by_sync = {s["sync_id"]: s for s in evidence["snapshots"]}
    newest = SnapshotReader.latest(store, "guru")
    assert newest is not None and by_sync[newest.manifest.sync_id]["used_for"] == ["verification"]
    for snapshot in evidence["snapshots"]:
        stored = (store.root / snapshot["path"] / "manifest.json").read_bytes()
        assert snapshot["manifest_sha256"] == hashlib.sha256(stored).hexdigest()
        assert snapshot["manifest_intact"] is True
    gusto = next(s for s in evidence["snapshots"] if s["connector"] == "gusto")
    assert gusto["used_for"] == ["items", "person_status", "verification"]
    assert evidence["campaign"]["items_sha256"] == applied.items_sha256


def test_a_manifest_changed_since_the_campaign_is_reported(store, applied, clock) -> None:
    guru = next(s for s in applied.snapshots if s.connector == "guru")
    manifest = store.root / guru.path / "manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b" ")
    evidence = report(store, applied, clock)
    assert next(s for s in evidence["snapshots"] if s["sync_id"] == guru.sync_id)["manifest_intact"] is False


def test_evidence_html_is_self_contained_with_a_chart(store, applied, clock) -> None:
    report(store, applied, clock)
    html = (store.root / f"reviews/{applied.campaign_id}/evidence.html").read_text()
    assert "<svg" in html and "Decisions by outcome and verification" in html
    assert "default-src 'none'" in html and "<script" not in html
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "Manual tasks (1)" in html and "Olga Outside" in html and "alice" in html


@pytest.mark.parametrize(
    ("decision", "completed_at", "newer", "started_at", "present", "state"),
    [
        ("revoke", "2026-03-02T10:00:00Z", False, "2026-03-02T11:00:00Z", False, "pending"),  # no newer snapshot
        ("revoke", "2026-03-02T10:00:00Z", True, "2026-03-02T11:00:00Z", False, "verified"),
        ("revoke", "2026-03-02T10:00:00Z", True, "2026-03-02T11:00:00Z", True, "not_removed"),
        ("revoke", "2026-03-02T10:00:00Z", True, "2026-03-02T09:59:59Z", True, "pending"),  # started before the change
        ("revoke", "2026-03-02T10:00:00Z", True, "2026-03-02T10:00:00.500Z", True, "pending"),  # the same second
        ("revoke", "2026-03-02T10:00:00Z", True, "2026-03-02T10:00:01Z", True, "not_removed"),
        ("revoke", None, True, "2026-03-02T11:00:00Z", True, "pending"),  # still queued
        ("keep", None, False, "2026-03-02T11:00:00Z", True, "kept"),
        ("keep", None, True, "2026-03-02T11:00:00Z", False, "removed_elsewhere"),
    ],
)
def test_verification_states(decision, completed_at, newer, started_at, present, state) -> None:
    outcome = Outcome("succeeded", "", completed_at, 1) if completed_at else None
    snapshot = SnapshotUsed(
        connector="guru",
        sync_id="s",
        path="p",
        started_at=started_at,
        completed_at=started_at,
        manifest_sha256="0",
        used_for=["verification"],
    )
    assert verification(decision, outcome, _Newest(snapshot, newer), present) == state
