"""The demo's access review: a campaign on the emulated bucket, decisions as review.html would write them,
applied through the provisioning queue and the real ProvisioningFunction, a new sync, and the evidence."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from access_sync.cli.main import main
from access_sync.stores.s3 import S3BlobStore
from access_sync_dev.local_aws import LocalStack

ALL_MEMBERS = "All Members"


def run_cli(argv: list[str], log: TextIO, ok: tuple[int, ...] = (0,)) -> str:
    """`access-sync …` in this process; returns its stdout (its stderr goes to the log)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(log):
        code = main(argv)
    if code not in ok:
        raise RuntimeError(f"`access-sync {' '.join(argv[:2])}` exited {code}; see {getattr(log, 'name', 'the log')}")
    return out.getvalue()


def scripted_decisions(items_csv: str) -> tuple[str, dict[str, int]]:
    """What a reviewer might decide: revoke the Guru groups of invitations never accepted (disabled accounts)
    and the Gusto admin rights of people Gusto does not know; keep every other admin."""
    rows = list(csv.DictReader(io.StringIO(items_csv)))
    counts = {"revoke": 0, "keep": 0}
    for row in rows:
        if row["connector"] == "guru" and row["account_status"] == "disabled" and row["resource_name"] != ALL_MEMBERS:
            row["decision"], row["comment"] = "revoke", "invitation never accepted"
        elif row["connector"] == "gusto":
            unknown = row["person_status"] == "no_person"
            row["decision"] = "revoke" if unknown else "keep"
            row["comment"] = "not on the payroll" if unknown else "payroll admin"
        if row["decision"]:
            counts[row["decision"]] += 1
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue(), counts


def run_review(
    stack: LocalStack, out: Path, log: TextIO, deliver: Callable[[], int], sync_all: Callable[[], None]
) -> str:
    """Runs the review; `deliver` hands the queued requests to the ProvisioningFunction (returns how many),
    `sync_all` syncs both services again. Returns the campaign id."""
    dest = f"s3://{stack.bucket}"
    campaign_id = run_cli(["review", "start", "--out", dest], log).strip()
    store = S3BlobStore(stack.bucket)
    items = (store.get_bytes(f"reviews/{campaign_id}/items.csv") or b"").decode()
    print(f"  campaign {campaign_id}: {items.count(chr(10)) - 1} grants to review (review.html, items.csv)")

    decisions, counts = scripted_decisions(items)
    path = out / f"decisions-{campaign_id}.csv"
    path.write_text(decisions)
    print(f"  decisions: {counts['revoke']} revoke, {counts['keep']} keep, the rest undecided ({path.name})")

    os.environ["PROVISION_QUEUE_URL"] = stack.queue_url()
    try:
        # Exit 1: some revokes are manual tasks (Gusto admins), which the report lists.
        printed = run_cli(["review", "apply", campaign_id, "--decisions", str(path), "--out", dest], log, (0, 1))
    finally:
        os.environ.pop("PROVISION_QUEUE_URL", None)
    applied_by = next((line for line in printed.splitlines() if line.startswith("applied by")), "")
    print(f"  review apply: every revoke queued as review:{campaign_id}:<item>; {applied_by}")
    print(f"  ProvisioningFunction carried out {deliver()} request(s) from the queue")

    sync_all()
    printed = run_cli(["review", "report", campaign_id, "--out", dest], log)
    for line in printed.splitlines():
        if not line.startswith("evidence."):
            print(f"  {line}")
    evidence = json.loads(store.get_bytes(f"reviews/{campaign_id}/evidence.json") or b"{}")
    for task in evidence.get("manual_tasks", []):
        print(f"    manual task: {task['account']}, {task['entitlement']} ({task['verification'].replace('_', ' ')})")
    return campaign_id
