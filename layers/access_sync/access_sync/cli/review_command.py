"""`access-sync review start|apply|report`: access reviews from the latest snapshots (docs/reviews.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from access_sync.cli.provision_command import close_all, local_service
from access_sync.errors import ConfigurationError
from access_sync.models.provisioning import ProvisioningOutcome
from access_sync.review.apply import ApplyOptions, ApplyResult, CarryOut, apply_decisions
from access_sync.review.decisions import DecisionsRefused
from access_sync.review.evidence import Evidence
from access_sync.review.items import Item
from access_sync.review.layout import items_key, page_key
from access_sync.review.report import write_report
from access_sync.review.start import CampaignRequest, start_campaign
from access_sync.wiring.connections import open_blob_store
from access_sync.wiring.registry import CONNECTORS
from access_sync.wiring.review import operator_identity, queue_carry_out

PROBLEMS_SHOWN = 100


def _now() -> datetime:
    return datetime.now(UTC)


def run_start(args: argparse.Namespace) -> int:
    store = open_blob_store(args.out)
    request = CampaignRequest(
        connectors=[args.connector] if args.connector else None, scope=args.scope, operator=operator_identity(args.out)
    )
    campaign = start_campaign(store, request, sorted(CONNECTORS), _now())
    by_connector = ", ".join(f"{name} {count:,}" for name, count in campaign.items_by_connector.items())
    print(campaign.campaign_id)
    lines = [
        f"campaign {campaign.campaign_id}: {campaign.items:,} items ({by_connector}), scope {campaign.scope}",
        f"  review page: {store.describe(page_key(campaign.campaign_id))}",
        f"  items.csv:   {store.describe(items_key(campaign.campaign_id))}",
        *(f"  note: {note}" for note in campaign.notes),
        f"next: decide, then `access-sync review apply {campaign.campaign_id} --decisions FILE.csv`",
    ]
    print("\n".join(lines), file=sys.stderr)
    return 0


def _opener(args: argparse.Namespace, stack: ExitStack) -> Callable[[frozenset[str]], CarryOut]:
    def open_carry_out(connectors: frozenset[str]) -> CarryOut:
        queued = queue_carry_out(args.out)
        if queued is not None:
            return queued
        service, provisioners = local_service(args, set(connectors))
        stack.callback(close_all, provisioners)
        return lambda raw: service.handle(raw).outcome

    return open_carry_out


def _print_revoke(dry_run: bool) -> Callable[[Item, str, ProvisioningOutcome | None], None]:
    def show(item: Item, request: str, outcome: ProvisioningOutcome | None) -> None:
        what = f"{item.account_name} from {item.entitlement_name}"
        if dry_run:
            print(f"would revoke {what}: {request}")
        elif outcome is None:
            print(f"queued       {what}")
        else:
            print(f"{outcome.status:<12} {what}: {outcome.message}")

    return show


def _print_apply_summary(result: ApplyResult, args: argparse.Namespace) -> None:
    tally = result.tally
    print(f"{tally.revoke:,} revoke, {tally.keep:,} keep, {tally.undecided:,} undecided in {Path(args.decisions).name}")
    if result.application is None:
        print("dry run: nothing was carried out, queued or written." if args.dry_run else "nothing to apply.")
        return
    tasks = [(item, outcome) for item, outcome in result.attention if outcome.status == "unsupported"]
    if tasks:
        print(f"manual tasks ({len(tasks)}): the service's API cannot do these; do them by hand, then sync again:")
        for item, outcome in tasks:
            print(f"  - {item.account_name} <{item.account_email}>, {item.entitlement_name}: {outcome.message}")
    outcomes = ", ".join(f"{count:,} {status}" for status, count in result.outcomes.items()) or "no revokes"
    application = result.application
    print(f"applied by {application.applied_by} at {application.applied_at} ({outcomes})")
    print(f"next: sync again, then `access-sync review report {args.campaign_id}`")


def run_apply(args: argparse.Namespace) -> int:
    store = open_blob_store(args.out)
    path = Path(args.decisions)
    if not path.is_file():
        raise ConfigurationError(f"{path} is not a file; give the decisions CSV downloaded from review.html.")
    options = ApplyOptions(
        operator=operator_identity(args.out),
        mode="queued" if queue_carry_out(args.out) else "carried_out",
        dry_run=args.dry_run,
    )
    with ExitStack() as stack:
        try:
            result = apply_decisions(
                store, args.campaign_id, path, _opener(args, stack), options, _now, _print_revoke(args.dry_run)
            )
        except DecisionsRefused as refused:
            for problem in refused.problems[:PROBLEMS_SHOWN]:
                print(f"{path.name} {problem}", file=sys.stderr)
            if len(refused.problems) > PROBLEMS_SHOWN:
                print(f"… and {len(refused.problems) - PROBLEMS_SHOWN:,} more problems", file=sys.stderr)
            raise
    _print_apply_summary(result, args)
    return 0 if result.all_done else 1


def _print_report(evidence: Evidence, json_location: str, html_location: str) -> None:
    summary = evidence.summary.as_dict()
    decisions, states = summary["decisions"], summary["verification"]
    print(
        f"campaign {evidence.campaign.campaign_id}: {summary['items']:,} items; "
        f"revoke {decisions['revoke']:,} (verified {states['verified']:,}, pending {states['pending']:,}, "
        f"not removed {states['not_removed']:,}); keep {decisions['keep']:,} (kept {states['kept']:,}, "
        f"removed elsewhere {states['removed_elsewhere']:,}); undecided {decisions['undecided']:,}"
    )
    if summary["manual_tasks"]:
        print(f"manual tasks: {summary['manual_tasks']:,} (listed in evidence.html)")
    print(f"evidence.json: {json_location}")
    print(f"evidence.html: {html_location}")


def run_report(args: argparse.Namespace) -> int:
    store = open_blob_store(args.out)
    evidence, json_location, html_location = write_report(store, args.campaign_id, operator_identity(args.out), _now())
    _print_report(evidence, json_location, html_location)
    return 0


def run_review_command(args: argparse.Namespace) -> int:
    action = {"start": run_start, "apply": run_apply, "report": run_report}[args.review_command]
    return action(args)
