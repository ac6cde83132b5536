"""Findings on one organisation seen by both simulators, through the CLI: exactly the planted cases, then the
leaver remediation, once, behind its circuit breaker.

The expected findings come from how the organisation was planted (who owns which account, who left), never
from access-sync's own matching.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from access_sync.cli.main import main
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.organisation import Organisation
from tests.findings_support import dest, org, org_guru, org_gusto, sync, urls, write_identities

__all__ = ["dest", "org", "org_guru", "org_gusto", "urls"]  # fixtures


def findings_json(dest: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["findings", "--out", str(dest), "-o", "json", *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def planted(org: Organisation, overrides: list[dict[str, Any]]) -> dict[str, str]:
    """Finding id → kind, from the organisation's construction and the overrides alone."""
    ignored = {entry["account"] for entry in overrides if "ignore" in entry}
    mapped = {entry["account"]: entry["person"] for entry in overrides if "person" in entry}
    truth: dict[str, str] = {}
    for account in org.accounts():
        key = f"guru:user:{account.email}"
        if key in ignored:
            continue
        if key in mapped:
            owner: str | None = mapped[key]
        elif account.shares_address_with:
            truth[f"ambiguous_identity:{key}"] = "ambiguous_identity"
            continue
        else:
            owner = account.owner if account.gusto_knows_address else None
        if owner is None:
            truth[f"unmatched_account:{key}"] = "unmatched_account"
        elif org.has_left(owner):
            truth[f"leaver_with_access:{key}"] = "leaver_with_access"
    for admin_uuid, owner in org.admin_owners():
        if owner is None:
            truth[f"admin_not_current_worker:gusto:user:{admin_uuid}"] = "admin_not_current_worker"
        elif org.has_left(owner):
            truth[f"admin_not_current_worker:{owner}"] = "admin_not_current_worker"
    return truth


def leaver_grants(org: Organisation, guru: GuruSimulator) -> set[str]:
    """Every changeable group membership of an account whose owner left, by the simulator's own state."""
    grants = set()
    for account in org.accounts():
        if account.owner and account.gusto_knows_address and org.has_left(account.owner):
            for gid in guru.groups_of(account.email):
                if gid != guru.all_members_group_id:
                    grants.add(f"group:{gid}:member:user:{account.email}")
    return grants


def test_findings_are_exactly_the_planted_cases(
    org: Organisation, synced: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = findings_json(synced, capsys)
    assert {finding["id"]: finding["kind"] for finding in found} == planted(org, org.suggested_identities())
    kinds = {finding["kind"] for finding in found}
    assert kinds == {"leaver_with_access", "admin_not_current_worker", "unmatched_account", "ambiguous_identity"}
    assert all(finding["status"] == "open" and finding["first_seen_at"] for finding in found)


def test_letter_case_a_scheduled_termination_and_the_override_file_are_read_right(
    org: Organisation, urls: dict[str, str], dest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync("guru", urls, dest)
    sync("gusto", urls, dest)
    found = {finding["id"]: finding for finding in findings_json(dest, capsys)}
    assert set(found) == set(planted(org, []))
    recased_leaver = next(
        f
        for f in found.values()
        if f["kind"] == "leaver_with_access" and f["subject"]["email"] != f["subject"]["email"].lower()
    )
    assert recased_leaver["person"]["status"] == "left" and recased_leaver["access"]["grants"] >= 2
    pending = next(a for a in org.accounts() if a.pending and a.owner and org.has_left(a.owner))
    assert "a pending Guru invite" in found[f"leaver_with_access:guru:user:{pending.email}"]["message"]
    scheduled = next(a for a in org.accounts() if a.note == "employee 4")
    assert not any(scheduled.email in finding_id for finding_id in found)  # leaving later is not a leaver
    assert f"unmatched_account:guru:user:{org.private_address}" in found  # until an override says whose it is

    write_identities(dest, org.suggested_identities())
    assert main(["sync", "guru", "--out", str(dest), "--base-url", urls["guru"]]) == 0
    again = {finding["id"]: finding for finding in findings_json(dest, capsys, "--all")}
    resolved = {finding_id for finding_id, finding in again.items() if finding["status"] == "resolved"}
    assert resolved == set(found) - set(planted(org, org.suggested_identities()))
    for finding_id in set(planted(org, org.suggested_identities())):
        assert again[finding_id]["first_seen_at"] == found[finding_id]["first_seen_at"]


def test_with_one_connector_synced_there_is_no_run_and_the_command_says_why(
    urls: dict[str, str], dest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync("guru", urls, dest)
    assert "findings: not run" in capsys.readouterr().out
    assert main(["findings", "--out", str(dest)]) == 2
    error = capsys.readouterr().err
    assert "only Guru's so far" in error and "access-sync sync gusto" in error
    assert not (dest / "findings").exists()


def test_the_run_folder_has_compact_parts_a_one_line_manifest_and_latest_json(urls: dict[str, str], dest: Path) -> None:
    sync("guru", urls, dest)
    sync("gusto", urls, dest)
    latest = (dest / "findings" / "latest.json").read_text()
    pointer = json.loads(latest)
    assert "\n" not in latest.strip() and set(pointer) == {"run_id", "path", "completed_at"}
    folder = dest / pointer["path"]
    assert folder.parent.name.startswith("run_date=") and folder.name == f"run_id={pointer['run_id']}"
    manifest_text = (folder / "manifest.json").read_text()
    manifest = json.loads(manifest_text)
    assert "\n" not in manifest_text.strip()
    assert set(manifest) == {"run_id", "started_at", "completed_at", "inputs", "counts"}
    assert set(manifest["inputs"]) == {"guru", "gusto"}
    lines = gzip.decompress((folder / "findings" / "part-00000.jsonl.gz").read_bytes()).decode().splitlines()
    assert len(lines) == manifest["counts"]["open"] + manifest["counts"]["resolved"]
    assert all(json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False) == line for line in lines)


@pytest.fixture
def synced(org: Organisation, urls: dict[str, str], dest: Path) -> Path:
    """Both connectors synced into `dest`, with the organisation's suggested overrides."""
    write_identities(dest, org.suggested_identities())
    sync("guru", urls, dest)
    sync("gusto", urls, dest)
    return dest


def test_revoke_groups_removes_exactly_the_leavers_groups_once_and_the_finding_stays_open(
    org: Organisation, org_guru: GuruSimulator, urls: dict[str, str], synced: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = synced
    expected = leaver_grants(org, org_guru)
    assert len(expected) > 10

    base = ["findings", "--out", str(dest), "--remediate", "revoke_groups", "--base-url", urls["guru"]]
    capsys.readouterr()
    assert main([*base, "--dry-run", "--max", "100", "-o", "json"]) == 0
    planned = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {request["grant_id"] for request in planned} == expected and org_guru.mutations == []
    assert all(
        request["request_id"].startswith("remediate:") and len(request["request_id"]) == 42 for request in planned
    )

    assert main(base) == 1  # the default maximum of 10 is exceeded: the breaker holds everything back
    assert f"{len(expected)} requests were held back" in capsys.readouterr().err
    assert org_guru.mutations == []

    assert main([*base, "--max", "100"]) == 0
    assert sorted(org_guru.mutations) == sorted(("DELETE", g.split(":")[1], g.rsplit(":", 1)[1]) for g in expected)
    assert main([*base, "--max", "100"]) == 0  # the same requests again: nothing changes twice
    assert len(org_guru.mutations) == len(expected)

    assert main(["sync", "guru", "--out", str(dest), "--base-url", urls["guru"]]) == 0
    leavers = [f for f in findings_json(dest, capsys) if f["kind"] == "leaver_with_access"]
    assert leavers and all(f["access"] == {"grants": 0, "entitlements": []} for f in leavers)


def test_remove_account_resolves_the_leavers_findings(
    org_guru: GuruSimulator, urls: dict[str, str], synced: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = synced
    before = {f["id"]: f for f in findings_json(dest, capsys)}
    leavers = {i for i, f in before.items() if f["kind"] == "leaver_with_access"}
    base = ["findings", "--out", str(dest), "--remediate", "remove_account", "--base-url", urls["guru"], "--max", "20"]
    assert main(base) == 0
    assert "verifier" in capsys.readouterr().out
    removed = {email for method, scope, email in org_guru.mutations if (method, scope) == ("DELETE", "team")}
    assert {f"leaver_with_access:guru:user:{email}" for email in removed} == leavers

    assert main(["sync", "guru", "--out", str(dest), "--base-url", urls["guru"]]) == 0
    after = {f["id"]: f for f in findings_json(dest, capsys, "--all")}
    assert {i for i, f in after.items() if f["status"] == "resolved"} == leavers
    assert all(after[i]["resolved_at"] and after[i]["first_seen_at"] == before[i]["first_seen_at"] for i in leavers)
    assert {i for i, f in after.items() if f["status"] == "open"} == set(before) - leavers
    # Resolved once: the run after that no longer lists them at all.
    assert main(["sync", "guru", "--out", str(dest), "--base-url", urls["guru"]]) == 0
    assert not leavers & {f["id"] for f in findings_json(dest, capsys, "--all")}


def test_text_and_csv_listings_read_well(org: Organisation, synced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = synced
    capsys.readouterr()
    assert main(["findings", "--out", str(dest)]) == 0
    text = capsys.readouterr().out
    truth = planted(org, org.suggested_identities())
    leavers = sum(kind == "leaver_with_access" for kind in truth.values())
    assert text.startswith(f"{leavers} leavers still have Guru access")
    assert "remove the account in Guru" in text
    assert main(["findings", "--out", str(dest), "-o", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("id,kind,severity,status,account,") and len(rows) == 1 + len(truth)
