"""`access-sync findings`: the open findings of the latest run, and the leaver remediation run by hand."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from typing import Any

from access_sync.cli.provision_command import operator_service, print_outcome
from access_sync.errors import ConfigurationError
from access_sync.findings.files import latest_pointer, read_lines
from access_sync.findings.remediation import RemediationReport, parse_mode
from access_sync.findings.runs import RunReport, missing_snapshots, run_findings
from access_sync.findings.service import remediate_latest
from access_sync.models.findings import Finding, FindingsPointer
from access_sync.provisioning.provisioner import Provisioner
from access_sync.provisioning.service import ProvisioningService, Recorded
from access_sync.stores.blob import BlobStore
from access_sync.wiring.connections import local_connection, open_blob_store
from access_sync.wiring.registry import CONNECTORS

_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
_HEADLINES = {
    "leaver_with_access": ("leaver still has Guru access", "leavers still have Guru access"),
    "admin_not_current_worker": ("Gusto admin is not a current worker", "Gusto admins are not current workers"),
    "unmatched_account": ("Guru account belongs to nobody in Gusto", "Guru accounts belong to nobody in Gusto"),
    "ambiguous_identity": ("Guru account matches several people", "Guru accounts match several people"),
}
CSV_COLUMNS = (
    "id",
    "kind",
    "severity",
    "status",
    "account",
    "account_name",
    "account_email",
    "person",
    "person_name",
    "person_status",
    "termination_date",
    "grants",
    "entitlements",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
    "message",
)


def after_sync(store: BlobStore) -> str:
    """The line `access-sync sync` prints about the findings run that follows it."""
    report = run_findings(store)
    if report.skipped:
        return f"findings: not run: {report.skipped}"
    return f"findings: {describe_run(report)}; list them with `access-sync findings`"


def describe_run(report: RunReport) -> str:
    counts = report.counts
    return f"run {report.run_id}: {counts['open']} open ({counts['new']} new), {counts['resolved']} resolved"


def headline(findings: list[Finding]) -> str:
    """`3 leavers still have Guru access, 1 Gusto admin is not a current worker`."""
    kinds = Counter(finding["kind"] for finding in findings if finding["status"] == "open")
    parts = [f"{kinds[kind]} {words[kinds[kind] != 1]}" for kind, words in _HEADLINES.items() if kinds[kind]]
    return ", ".join(parts) if parts else "no open findings"


def _account(finding: Finding) -> str:
    subject = finding["subject"]
    return f"{subject['connector']}:{subject['resource_type']}:{subject['id']}"


def _person(finding: Finding) -> str:
    person = finding.get("person")
    if not person:
        return "-"
    when = f" {person['termination_date']}" if person.get("termination_date") else ""
    return f"{person['display_name']} ({person['status']}{when})"


def csv_row(finding: Finding) -> dict[str, Any]:
    subject, person = finding["subject"], finding.get("person") or {}
    return {
        "id": finding["id"],
        "kind": finding["kind"],
        "severity": finding["severity"],
        "status": finding["status"],
        "account": _account(finding),
        "account_name": subject.get("display_name"),
        "account_email": subject.get("email"),
        "person": f"gusto:{person['resource_type']}:{person['id']}" if person else "",
        "person_name": person.get("display_name", ""),
        "person_status": person.get("status", ""),
        "termination_date": person.get("termination_date") or "",
        "grants": finding["access"]["grants"],
        "entitlements": ";".join(finding["access"]["entitlements"]),
        "first_seen_at": finding["first_seen_at"],
        "last_seen_at": finding["last_seen_at"],
        "resolved_at": finding.get("resolved_at") or "",
        "message": finding["message"],
    }


def print_findings(findings: list[Finding], output: str, title: str) -> None:
    if output == "json":
        for finding in findings:
            print(json.dumps(finding, separators=(",", ":"), ensure_ascii=False))
        return
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_row(finding) for finding in findings)
        return
    print(f"{headline(findings)} ({title})")
    for finding in findings:
        subject = finding["subject"]
        name = f"{subject.get('display_name')} <{subject.get('email')}>" if subject.get("email") else subject["id"]
        status = "" if finding["status"] == "open" else f" [{finding['status']} {finding['resolved_at']}]"
        print(
            f"  {finding['severity']:<6} {finding['kind']:<24} {subject['connector']:<5} {name}  "
            f"person: {_person(finding)}  grants: {finding['access']['grants']}{status}"
        )
        print(f"         {finding['message']}")


def ordered(findings: list[Finding]) -> list[Finding]:
    """Newest first; then the most severe; then by id, so the order is the same every time."""
    findings.sort(key=lambda f: f["id"])
    findings.sort(key=lambda f: _SEVERITY_RANK.get(f["severity"], 3))
    findings.sort(key=lambda f: f["first_seen_at"], reverse=True)
    return findings


def _latest_run(store: BlobStore) -> FindingsPointer:
    pointer = latest_pointer(store)
    if pointer is None:
        _, reason = missing_snapshots(store)
        if reason:
            raise ConfigurationError(f"There are no findings yet: {reason}")
        run_findings(store)  # both snapshots are there, from before findings existed: run once now
        pointer = latest_pointer(store)
    if pointer is None:
        raise ConfigurationError(f"No findings run could be written to {store.describe()}.")
    return pointer


def _remediation_service(args: argparse.Namespace, store: BlobStore) -> tuple[ProvisioningService, Provisioner]:
    guru = CONNECTORS["guru"]
    provisioner = guru.provisioner(local_connection(guru, None, args.base_url))
    return operator_service(store, args.out, {"guru": provisioner}, None), provisioner


def _print_plan(report: RemediationReport, output: str) -> None:
    for request in report.requests:
        if output == "json":
            print(json.dumps(request))
        else:
            target = request.get("grant_id") or request["resource"]["id"]
            print(f"  {request['request_id']:<42} {request['action']:<16} {target}")


def run_remediation(args: argparse.Namespace, store: BlobStore) -> int:
    mode = parse_mode(args.remediate)
    if mode == "off":
        raise ConfigurationError("--remediate takes revoke_groups or remove_account.")
    _latest_run(store)
    if args.dry_run:
        report = remediate_latest(store, mode, limit=args.max, dry_run=True)
        assert report is not None  # _latest_run made sure there is a run
        _print_plan(report, args.output)
        print(report.sentence(), file=sys.stderr if args.output == "json" else sys.stdout)
        return 1 if report.halted else 0
    service, provisioner = _remediation_service(args, store)
    outcomes: list[Recorded] = []
    try:
        report = remediate_latest(store, mode, limit=args.max, send=lambda body: outcomes.append(service.handle(body)))
    finally:
        provisioner.close()
    assert report is not None
    if report.halted:
        print(f"access-sync: {report.sentence()}", file=sys.stderr)
        return 1
    for recorded in outcomes:
        if args.output == "json":
            print(recorded.outcome.model_dump_json())
        else:
            print_outcome(recorded, args.output)
    if args.output != "json":
        print(report.sentence())
    return 1 if any(recorded.outcome.status in {"failed", "unsupported", "rejected"} for recorded in outcomes) else 0


def run_findings_command(args: argparse.Namespace) -> int:
    if not args.remediate and (args.dry_run or args.base_url):
        raise ConfigurationError("--dry-run and --base-url go with --remediate revoke_groups|remove_account.")
    store = open_blob_store(args.out)
    if args.remediate:
        return run_remediation(args, store)
    pointer = _latest_run(store)
    findings = [f for f in read_lines(store, pointer.path) if args.all or f.get("status") == "open"]
    print_findings(ordered(findings), args.output, f"run {pointer.run_id}, {pointer.completed_at}")
    return 0
