"""Reviews at scale: `review start|apply|report` on 600,000 grants, and review.html filtering 50,000 items.

    .venv/bin/python -m benchmarks.review              # both parts, a few minutes
    .venv/bin/python -m benchmarks.review --only cli   # or --only page

The organisation: 100,000 Guru users in 2,000 groups with 600,000 memberships, a Gusto company whose
100,000 employees are those users (with managers and leavers), and an open finding for every 20th user.
Each command runs as its own `access-sync` process, so its wall time and peak RSS (from wait4()) are its
own. The page part opens a 50,000-item review.html in Debian's headless Chromium and times each filter
the page applies (performance.measure "filter": filtering plus drawing the page of rows).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from access_sync.models import ids
from access_sync.models.snapshot import Entitlement, Resource, ResourceRef, ResourceType, UserTrait
from access_sync.stores.blob import LocalBlobStore
from access_sync_dev.fixture_syncer import FixtureSyncer, write_snapshot
from benchmarks.measure import ProcessRun, run_measured

USERS, GROUPS, GRANTS = 100_000, 2_000, 600_000
PAGE_ITEMS = 50_000
COMPANY = "c0ffee00-0000-4000-8000-00000000b00c"


def email(index: int) -> str:
    return f"person{index}@bench.example"


def guru(users: int, groups: int, grants: int) -> FixtureSyncer:
    def resources() -> Iterator[Resource]:
        for i in range(users):
            yield Resource(
                resource_type="user",
                id=email(i),
                display_name=f"Person {i}",
                user=UserTrait(email=email(i), login=email(i)),
            )
        for g in range(groups):
            yield Resource(resource_type="group", id=f"g{g}", display_name=f"Group {g}")

    def entitlements() -> Iterator[Entitlement]:
        for g in range(groups):
            ref = ResourceRef(resource_type="group", id=f"g{g}")
            yield Entitlement.for_resource(ref, "member", "assignment", f"Group {g} member", ["user"])

    def memberships() -> Iterator[tuple[str, str, str]]:
        per_group = grants // groups
        for g in range(groups):
            for k in range(per_group):
                yield ids.entitlement_id("group", f"g{g}", "member"), "user", email((g * 7919 + k * 31) % users)

    types = [
        ResourceType(id="user", display_name="User", traits=["user"]),
        ResourceType(id="group", display_name="Group", traits=["group"]),
    ]
    return FixtureSyncer("guru", types, resources(), entitlements(), memberships())


def gusto(employees: int) -> FixtureSyncer:
    company = ResourceRef(resource_type="company", id=COMPANY)

    def resources() -> Iterator[Resource]:
        yield Resource(resource_type="company", id=COMPANY, display_name="Bench Co")
        for i in range(employees):
            left = i % 50 == 49
            yield Resource(
                resource_type="employee",
                id=f"e{i}",
                display_name=f"Person {i}",
                parent=company,
                status="disabled" if left else "enabled",
                user=UserTrait(email=email(i), login=email(i)),
                profile={
                    "email": email(i),
                    "work_email": None,
                    "manager_uuid": f"e{i // 10}" if i else None,
                    "termination_date": "2025-01-31" if left else None,
                },
            )

    admin = Entitlement.for_resource(company, "admin", "permission", "Bench Co admin", ["employee"])
    grants = [(admin.id, "employee", f"e{i}") for i in range(5)]
    types = [
        ResourceType(id="company", display_name="Company"),
        ResourceType(id="employee", display_name="Employee", traits=["user"]),
    ]
    return FixtureSyncer("gusto", types, resources(), [admin], grants)


def findings(store: LocalBlobStore, users: int) -> None:
    """An open finding about every 20th user, in the findings layout the review reads."""
    run_id = "20260301T000000Z-bench000"
    path = f"findings/run_date=2026-03-01/run_id={run_id}"
    lines = "".join(
        json.dumps(
            {
                "id": f"leaver_with_access:guru:user:{email(i)}",
                "kind": "leaver_with_access",
                "status": "open",
                "subject": {"connector": "guru", "resource_type": "user", "id": email(i)},
            }
        )
        + "\n"
        for i in range(0, users, 20)
    )
    store.put_bytes(f"{path}/findings/part-00000.jsonl.gz", gzip.compress(lines.encode()))
    store.put_bytes(f"{path}/manifest.json", b"{}")
    latest = {"run_id": run_id, "path": path, "completed_at": "2026-03-01T00:00:05Z"}
    store.put_bytes("findings/latest.json", json.dumps(latest).encode())


def cli(argv: list[str], work: Path, name: str) -> ProcessRun:
    binary = Path(sys.executable).with_name("access-sync")
    run = run_measured([str(binary), *argv], dict(os.environ), work / f"{name}.log", timeout=1800)
    if run.exit_code not in (0, 1):
        raise SystemExit(f"{name} failed ({run.exit_code}):\n{run.output[-2000:]}")
    return run


def keep_everything(items: Path, decisions: Path) -> None:
    with items.open(newline="") as source, decisions.open("w", newline="") as target:
        reader, writer = csv.reader(source), csv.writer(target)
        writer.writerow(next(reader))
        for row in reader:
            writer.writerow([*row[:-2], "keep", ""])


def bench_cli(work: Path) -> list[tuple[str, ProcessRun]]:
    store = LocalBlobStore(work / "dest")
    started = time.perf_counter()
    write_snapshot(store, gusto(USERS))
    write_snapshot(store, guru(USERS, GROUPS, GRANTS))
    findings(store, USERS)
    print(f"organisation written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    dest = str(store.root)
    runs = [("review start", cli(["review", "start", "--out", dest], work, "start"))]
    campaign = runs[0][1].output.strip().splitlines()[0]
    folder = store.root / "reviews" / campaign
    decisions = work / "decisions.csv"
    keep_everything(folder / "items.csv", decisions)
    runs.append(
        (
            "review apply --dry-run",
            cli(
                ["review", "apply", campaign, "--decisions", str(decisions), "--out", dest, "--dry-run"],
                work,
                "dry-run",
            ),
        )
    )
    runs.append(
        (
            "review apply (600k keep)",
            cli(["review", "apply", campaign, "--decisions", str(decisions), "--out", dest], work, "apply"),
        )
    )
    runs.append(("review report", cli(["review", "report", campaign, "--out", dest], work, "report")))
    sizes = {name: (folder / name).stat().st_size / 1e6 for name in ("items.csv", "review.html", "evidence.json")}
    print("  " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in sizes.items()), file=sys.stderr)
    return runs


def bench_page(work: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from access_sync.review.start import CampaignRequest, start_campaign
    from access_sync_dev.chromium import launch

    store = LocalBlobStore(work / "page")
    per_group = PAGE_ITEMS // 50
    write_snapshot(store, guru(per_group * 2, 50, PAGE_ITEMS))
    campaign = start_campaign(store, CampaignRequest(None, "all", "bench"), ["guru"], datetime.now(UTC))
    page_file = store.root / "reviews" / campaign.campaign_id / "review.html"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        started = time.perf_counter()
        page.goto(page_file.as_uri())
        page.wait_for_selector("#rows tr")
        loaded = time.perf_counter() - started
        for text in ("person1", "person12", "person123@", "group 7", "", "person9"):
            page.fill("#f-text", text)
            page.wait_for_timeout(250)
        for label in ("Group 3 member", "Group 41 member"):
            value = page.eval_on_selector(
                "#f-entitlement", "(s, t) => [...s.options].find(o => o.text.startsWith(t)).value", label
            )
            page.select_option("#f-entitlement", value)
        page.select_option("#f-entitlement", "")
        page.click("#bulk-revoke")
        durations = page.evaluate("performance.getEntriesByName('filter').map(e => e.duration)")
        browser.close()
    return {
        "items": campaign.items,
        "page MB": page_file.stat().st_size / 1e6,
        "open s": loaded,
        "filters": len(durations),
        "filter median ms": statistics.median(durations),
        "filter max ms": max(durations),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["cli", "page"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="access-sync-review-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "cli"):
            print(f"{'command':<26} {'wall s':>8} {'CPU s':>8} {'RSS MB':>8}   ({GRANTS:,} grants, {USERS:,} users)")
            for name, run in bench_cli(work):
                print(f"{name:<26} {run.wall_seconds:>8.1f} {run.cpu_seconds:>8.1f} {run.peak_rss_mb:>8.0f}")
        if args.only in (None, "page"):
            measured = bench_page(work)
            print(
                "review.html in headless Chromium: "
                + ", ".join(
                    f"{name} {value:,.1f}" if isinstance(value, float) else f"{name} {value:,}"
                    for name, value in measured.items()
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
