"""The Gusto sync writes the Gusto table of docs/snapshot-format.md, resumably, through throttling and faults."""

from __future__ import annotations

import gzip
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from access_sync.connectors.gusto.syncer import GustoSyncer
from access_sync.errors import CredentialsError, ReauthorizationRequired
from access_sync.models.sync_events import SyncEvent, SyncResult
from access_sync.stores.blob import LocalBlobStore
from access_sync.stores.secrets import FileSecretStore
from access_sync.sync.deadline import Deadline
from access_sync.sync.engine import run_sync
from access_sync_sim.base import Faults
from access_sync_sim.gusto import GustoSimulator
from tests.gusto_support import (
    EXPIRED,
    FakeClock,
    Wire,
    assert_no_secrets,
    captured_logs,
    gusto_client,
    secrets_of,
    stored,
    token_manager,
    write_credentials,
)
from tests.helpers import read_snapshot

COMPANY = "c0ffee00-0000-4000-8000-000000000001"


def syncer_for(
    store: FileSecretStore,
    transport: httpx.BaseTransport,
    clock: Callable[[], float] = time.time,
    concurrency: int = 16,
    **options: Any,
) -> GustoSyncer:
    return GustoSyncer(gusto_client(token_manager(store, transport, clock), transport, **options), concurrency)


def sync(
    syncer: GustoSyncer, dest: Path, deadline: Deadline | None = None, event: SyncEvent | None = None
) -> SyncResult:
    try:
        return run_sync(syncer, LocalBlobStore(dest), event or SyncEvent(connector="gusto"), deadline=deadline)
    finally:
        syncer.close()


def content(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    """Records as sorted JSON lines: equal content, whatever order concurrent pages arrived in."""
    return {
        name: sorted(json.dumps(record, sort_keys=True) for record in snapshot[name])
        for name in ("resources", "entitlements", "grants")
    }


def by_id(snapshot: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(record["resource_type"], record["id"]): record for record in snapshot["resources"]}


def assert_consistent(snapshot: dict[str, Any], sim: GustoSimulator) -> None:
    assert snapshot["manifest"]["counts"] == sim.expected_counts()
    resources = by_id(snapshot)
    entitlements = {record["id"] for record in snapshot["entitlements"]}
    for grant in snapshot["grants"]:
        assert grant["entitlement"] in entitlements
        principal = grant["principal"]
        assert (principal["resource_type"], principal["id"]) in resources
        assert grant["id"] == f"{grant['entitlement']}:{principal['resource_type']}:{principal['id']}"
    assert len({grant["id"] for grant in snapshot["grants"]}) == len(snapshot["grants"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ---------------------------------------------------------------------- the Gusto table of docs/snapshot-format.md


def test_the_snapshot_follows_the_gusto_table(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(employees=45, contractors=8, admins=5, clock=clock)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    result = sync(syncer_for(store, sim.transport(), clock), tmp_path / "out")
    assert result.status == "complete"
    snapshot = read_snapshot(tmp_path / "out", "gusto")
    assert_consistent(snapshot, sim)

    company = by_id(snapshot)[("company", sim.company_uuid)]
    assert company["display_name"] == sim.company_name and company["parent"] is None
    (entitlement,) = snapshot["entitlements"]
    assert entitlement["id"] == f"company:{sim.company_uuid}:admin"
    assert entitlement["purpose"] == "permission" and entitlement["slug"] == "admin"
    assert entitlement["resource"] == {"resource_type": "company", "id": sim.company_uuid}
    parent = {"resource_type": "company", "id": sim.company_uuid}
    assert all(record["parent"] == parent for record in snapshot["resources"] if record["resource_type"] != "company")
    manifest = snapshot["manifest"]
    assert [kind["id"] for kind in manifest["resource_types"]] == ["company", "employee", "contractor", "user"]
    # token_info, company, admins, 1 employees page, 1 contractors page: the fewest the API allows.
    assert manifest["source"]["requests"] == 5


def test_admins_match_people_by_email_ignoring_case(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(employees=45, contractors=8, admins=5, clock=clock)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    sync(syncer_for(store, sim.transport(), clock), tmp_path / "out")
    snapshot = read_snapshot(tmp_path / "out", "gusto")
    resources = by_id(snapshot)
    principals = Counter(grant["principal"]["resource_type"] for grant in snapshot["grants"])
    assert principals == {"employee": 3, "contractor": 1, "user": 1}
    for grant in snapshot["grants"]:
        person = resources[(grant["principal"]["resource_type"], grant["principal"]["id"])]
        if person["resource_type"] != "user":
            assert person["profile"]["email"].lower() in {email.lower() for email in sim.admin_emails()}
    recased = [email for email in sim.admin_emails() if email != email.lower() and "example.com" in email]
    assert recased, "the simulator's admins differ from the HR records in letter case"
    (user,) = (record for record in snapshot["resources"] if record["resource_type"] == "user")
    assert user["user"]["email"].endswith("@outside-accountants.test")
    assert user["status"] == "enabled"


def test_status_and_raw_fields_of_people(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(employees=20, contractors=8, admins=3, clock=clock)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    sync(syncer_for(store, sim.transport(), clock), tmp_path / "out")
    records = read_snapshot(tmp_path / "out", "gusto")["resources"]
    employees = [record for record in records if record["resource_type"] == "employee"]
    contractors = [record for record in records if record["resource_type"] == "contractor"]

    terminated = [record for record in employees if record["profile"]["terminated"]]
    assert len(terminated) == 2 and all(record["status"] == "disabled" for record in terminated)
    assert all(record["profile"]["termination_date"] for record in terminated)
    assert all(record["status"] == "enabled" for record in employees if not record["profile"]["terminated"])
    onboarding = [record for record in employees if not record["profile"]["onboarded"]]
    assert onboarding and all(record["profile"]["onboarding_status"] != "onboarding_completed" for record in onboarding)

    inactive = [record for record in contractors if record["profile"]["is_active"] is False]
    assert len(inactive) == 1 and inactive[0]["status"] == "disabled"
    businesses = [record for record in contractors if record["profile"]["type"] == "Business"]
    assert len(businesses) == 2
    for business in businesses:
        assert business["display_name"] == business["profile"]["business_name"]
        # A user-like resource always carries `user`; with no address, its handle is the contractor's uuid.
        assert business["user"] == {"email": None, "login": business["id"]} and business["profile"]["email"] is None
    individual = next(record for record in contractors if record["profile"]["type"] == "Individual")
    assert individual["user"]["email"] == individual["profile"]["email"]


def handcrafted(
    admins: list[dict[str, Any]], employees: list[dict[str, Any]], contractors: list[dict[str, Any]]
) -> Any:
    """A tiny Gusto with chosen people; employee pages answer slowly, so contractors arrive first."""
    lists = {"admins": admins, "employees": employees, "contractors": contractors}

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/token_info":
            return httpx.Response(200, json={"resource": {"type": "Company", "uuid": COMPANY}})
        if path == f"/v1/companies/{COMPANY}":
            return httpx.Response(200, json={"uuid": COMPANY, "name": "Handmade Inc"})
        kind = path.rsplit("/", 1)[-1]
        if kind == "employees":
            time.sleep(0.05)
        page, per = int(request.url.params["page"]), int(request.url.params["per"])
        items = lists[kind][(page - 1) * per : page * per]
        return httpx.Response(200, json=items, headers={"X-Total-Pages": str(-(-len(lists[kind]) // per))})

    return httpx.MockTransport(answer)


def person(uuid: str, email: str | None, work_email: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"uuid": uuid, "first_name": uuid, "last_name": "X", "email": email, "work_email": work_email, **fields}


def test_admins_match_on_email_or_work_email_email_first_then_employees(tmp_path: Path) -> None:
    admins = [
        {"uuid": "a-emp", "email": "Ann@Example.COM"},
        {"uuid": "a-emp-again", "email": "ann@example.com"},  # same person, other case: one grant
        {"uuid": "a-work", "email": " bo@corp.test"},  # bo's work_email: bo, whatever the spaces
        {"uuid": "a-both", "email": "cy@example.com"},
        {"uuid": "a-fay", "email": "fay@corp.test"},  # one's work_email, another's email: the email wins
        {"uuid": "a-con", "email": "dee@example.net"},
        {"uuid": "a-none", "email": "eve@outside.test", "first_name": "Eve", "last_name": "Outside"},
    ]
    employees = [
        person("e-ann", "ann@example.com"),
        person("e-bo", "bo@home.test", work_email="BO@corp.test"),
        person("e-cy", "CY@example.com", terminated=True),
        person("e-ann-dup", "ann@example.com"),  # the first match in Gusto's order wins
        person("e-fay", "fay@home.test", work_email="fay@corp.test"),
    ]
    contractors = [
        person("c-cy", "cy@example.com"),
        person("c-dee", "Dee@Example.net"),
        person("c-fay", "FAY@corp.test"),
    ]
    store = write_credentials(tmp_path / "gusto.json", {**GustoSimulator().issue_credentials(), "environment": "demo"})
    sync(
        GustoSyncer(
            gusto_client(
                token_manager(store, handcrafted(admins, employees, contractors)),
                handcrafted(admins, employees, contractors),
            )
        ),
        tmp_path / "out",
    )
    snapshot = read_snapshot(tmp_path / "out", "gusto")
    granted = sorted(grant["id"].removeprefix(f"company:{COMPANY}:admin:") for grant in snapshot["grants"])
    assert granted == [
        "contractor:c-dee",
        "contractor:c-fay",
        "employee:e-ann",
        "employee:e-bo",
        "employee:e-cy",
        "user:a-none",
    ]
    user = by_id(snapshot)[("user", "a-none")]
    assert user["display_name"] == "Eve Outside" and user["user"]["email"] == "eve@outside.test"
    assert by_id(snapshot)[("employee", "e-cy")]["status"] == "disabled"


def test_an_employee_is_disabled_only_once_a_termination_is_effective(tmp_path: Path) -> None:
    def ends(effective: str, active: bool = True) -> dict[str, Any]:
        return {"effective_date": effective, "active": active}

    employees = [
        person("e-past", "past@example.com", terminated=True, terminations=[ends("2026-03-31")]),
        person("e-today", "today@example.com", terminated=True, terminations=[ends("2026-06-15")]),
        person("e-later", "later@example.com", terminated=True, terminations=[ends("2026-07-01")]),
        person("e-cancelled", "c@example.com", terminated=True, terminations=[ends("2026-01-01", active=False)]),
        person(
            "e-rescheduled",
            "r@example.com",
            terminated=True,
            terminations=[ends("2026-02-01", active=False), ends("2026-09-30")],
        ),
        person("e-here", "here@example.com", terminated=False),
    ]
    transport = handcrafted([], employees, [])
    store = write_credentials(tmp_path / "gusto.json", {**GustoSimulator().issue_credentials(), "environment": "demo"})
    syncer = GustoSyncer(gusto_client(token_manager(store, transport), transport), today=lambda: date(2026, 6, 15))
    sync(syncer, tmp_path / "out")
    resources = by_id(read_snapshot(tmp_path / "out", "gusto"))
    people = {uuid: record for (kind, uuid), record in resources.items() if kind == "employee"}
    seen = {uuid: (record["status"], record["profile"]["termination_date"]) for uuid, record in people.items()}
    assert seen == {
        "e-past": ("disabled", "2026-03-31"),
        "e-today": ("disabled", "2026-06-15"),
        "e-later": ("enabled", "2026-07-01"),
        "e-cancelled": ("enabled", None),
        "e-rescheduled": ("enabled", "2026-09-30"),
        "e-here": ("enabled", None),
    }
    assert people["e-later"]["profile"]["terminated"] is True  # Gusto's own flag, kept as it is


# ---------------------------------------------------------------------- resumable, no request twice


def stop_after(checks: int) -> Deadline:
    counter = itertools.count()
    return Deadline(lambda: 100.0 if next(counter) < checks else 0.0, margin=1.0)


@pytest.mark.parametrize("checks", [0, 1, 2, 4])
def test_an_interrupted_sync_resumes_without_repeating_a_request(tmp_path: Path, checks: int) -> None:
    """Two workers keep at most four pages on their way, so a stop leaves most pages of 1,430 employees unread."""

    def company() -> GustoSimulator:
        return GustoSimulator(employees=1430, contractors=160, admins=6)

    baseline_sim = company()
    baseline_store = write_credentials(tmp_path / "a.json", baseline_sim.issue_credentials())
    sync(syncer_for(baseline_store, baseline_sim.transport()), tmp_path / "baseline")

    sim = company()
    store = write_credentials(tmp_path / "b.json", sim.issue_credentials())
    result = sync(syncer_for(store, sim.transport(), concurrency=2), tmp_path / "out", stop_after(checks))
    invocations = 1
    while result.status == "in_progress":
        assert not (tmp_path / "out/snapshots/connector=gusto/latest.json").exists()
        event = SyncEvent.model_validate(result.model_dump())
        resumed = syncer_for(store, sim.transport(), concurrency=2)
        result = sync(resumed, tmp_path / "out", stop_after(checks + 1), event)
        invocations += 1
    assert invocations > 1
    assert result.invocations == invocations
    gets = [path for method, path in sim.request_log if method == "GET"]
    assert len(gets) == len(set(gets)) == len(baseline_sim.request_log)
    assert content(read_snapshot(tmp_path / "out", "gusto")) == content(read_snapshot(tmp_path / "baseline", "gusto"))


# ---------------------------------------------------------------------- throttling, faults, expiring tokens


def test_429_storms_and_5xx_bursts_still_give_the_right_data(tmp_path: Path, clock: FakeClock) -> None:
    calm = GustoSimulator(employees=320, contractors=120, admins=5, clock=clock)
    calm_store = write_credentials(tmp_path / "calm.json", calm.issue_credentials())
    sync(syncer_for(calm_store, calm.transport(), clock), tmp_path / "calm")

    faults = Faults(
        script=[429, 429, 429, 503, 502, 504, 503], throttle_rate=0.3, error_rate=0.15, drop_rate=0.05, retry_after=7
    )
    stormy = GustoSimulator(employees=320, contractors=120, admins=5, clock=clock, faults=faults)
    store = write_credentials(tmp_path / "stormy.json", stormy.issue_credentials())
    waits: list[float] = []
    sync(syncer_for(store, stormy.transport(), clock, max_attempts=20, sleep=waits.append), tmp_path / "stormy")
    assert content(read_snapshot(tmp_path / "stormy", "gusto")) == content(read_snapshot(tmp_path / "calm", "gusto"))
    assert waits.count(7.0) >= 3  # Retry-After was honoured (the sleep is recorded, not slept)
    assert len(waits) >= 7


def test_gustos_own_rate_limit_is_waited_out(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(employees=900, contractors=10, admins=3, clock=clock, rate_limit_per_minute=4)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    sync(
        syncer_for(store, sim.transport(), clock, max_attempts=50, max_retry_seconds=3600, sleep=wait), tmp_path / "out"
    )
    assert read_snapshot(tmp_path / "out", "gusto")["manifest"]["counts"] == sim.expected_counts()
    assert waits and all(1 <= seconds <= 60 for seconds in waits)


@pytest.mark.parametrize("skew", [0, 600], ids=["refreshed-ahead", "refreshed-on-401"])
def test_an_access_token_expiring_mid_sync(tmp_path: Path, clock: FakeClock, skew: int) -> None:
    """Each API request takes two simulated minutes, so the 20-minute token dies twice during the 48-minute sync
    (24 requests).

    Two requests are in flight at most, so a token checked with over five minutes left is still valid when it
    arrives. With `skew`, our clock runs ten minutes behind Gusto's: the stored token dies before we expect it
    and the 401 path refreshes it (at about 20 minutes); later expiries count from our own clock, so the next
    refresh comes ahead, 15 minutes after that one. The sync must outlast it by a few requests, whatever the
    order the two requests in flight come back in (at 40 minutes it sometimes did not).
    """
    sim = GustoSimulator(employees=1650, contractors=310, admins=5, clock=clock, access_token_ttl=1200)
    credentials = sim.issue_credentials()
    store = write_credentials(tmp_path / "gusto.json", credentials)
    wire = Wire(sim, clock=clock, advance_per_request=120)
    with captured_logs() as logs:
        sync(syncer_for(store, wire, lambda: clock() - skew, concurrency=2), tmp_path / "out")
    snapshot = read_snapshot(tmp_path / "out", "gusto")
    assert snapshot["manifest"]["counts"] == sim.expected_counts()
    assert sim.refresh_count >= 2
    repeated = [path for path, times in Counter(wire.api_calls()).items() if times > 1]
    assert bool(repeated) is bool(skew)  # only a 401 repeats a request
    assert sim.refresh_token_valid(stored(store)["refresh_token"])
    written = b"".join(gzip.decompress(path.read_bytes()) for path in (tmp_path / "out").rglob("*.jsonl.gz"))
    assert_no_secrets(written.decode() + logs.getvalue(), secrets_of(credentials, wire))


def test_paging_stops_on_a_short_page_without_total_pages(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(employees=250, contractors=100, admins=2, clock=clock)

    class NoTotals(Wire):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            response.headers.pop("X-Total-Pages", None)
            return response

    wire = NoTotals(sim)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    sync(syncer_for(store, wire, clock), tmp_path / "out")
    assert read_snapshot(tmp_path / "out", "gusto")["manifest"]["counts"] == sim.expected_counts()
    pages = sorted(str(request.url.params.get("page")) + request.url.path[-3:] for request in wire.requests)
    # employees: 100, 100, 50 (short: stop); contractors: 100, then an empty page proves the end.
    assert pages.count("1ees") == pages.count("2ees") == pages.count("3ees") == 1 and "4ees" not in pages
    assert "2ors" in pages and "3ors" not in pages


# ---------------------------------------------------------------------- failures a person must act on


def test_a_missing_scope_is_named(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(clock=clock, scopes="companies:read employees:read company_admin:read")
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    with pytest.raises(CredentialsError) as caught:
        sync(syncer_for(store, sim.transport(), clock), tmp_path / "out")
    assert "contractors:read" in caught.value.message
    assert not (tmp_path / "out/snapshots/connector=gusto/latest.json").exists()


def test_a_revoked_connection_fails_the_sync_and_leaves_the_secret_alone(tmp_path: Path, clock: FakeClock) -> None:
    """The metric and the alarm come from the Lambda path (tests/integration/test_gusto_sync.py)."""
    sim = GustoSimulator(clock=clock)
    credentials = sim.issue_credentials()
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    sim.revoke_all()
    with pytest.raises(ReauthorizationRequired) as caught:
        sync(syncer_for(store, sim.transport(), clock), tmp_path / "out")
    assert "re-authorise the app" in caught.value.message
    assert not (tmp_path / "out/snapshots/connector=gusto/latest.json").exists()
    assert stored(store) == {**credentials, "access_token_expires_at": EXPIRED}


def test_every_request_passes_the_client_side_rate_window(tmp_path: Path, clock: FakeClock) -> None:
    from access_sync.http.limits import RateWindow, WaitNotice

    class Counting(RateWindow):
        acquired = 0

        def acquire(self, on_wait: WaitNotice | None = None) -> None:
            Counting.acquired += 1
            super().acquire(on_wait)

    sim = GustoSimulator(employees=250, clock=clock)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    syncer = syncer_for(store, sim.transport(), clock)
    assert syncer.client.api.rate is not None and syncer.client.api.rate.limit < 200
    syncer.client.api.rate = Counting(1000, 60)
    sync(syncer, tmp_path / "out")
    assert Counting.acquired == syncer.requests == len(sim.request_log)


def test_no_secret_lands_in_the_snapshot_or_checkpoint(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(employees=250, contractors=30, clock=clock)
    credentials = sim.issue_credentials()
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    wire = Wire(sim)
    result = sync(syncer_for(store, wire, clock, concurrency=1), tmp_path / "out", stop_after(1))
    assert result.status == "in_progress"
    checkpoint = next((tmp_path / "out").rglob("_checkpoints/*.json")).read_text()
    event = SyncEvent.model_validate(result.model_dump())
    final = sync(syncer_for(store, wire, clock), tmp_path / "out", event=event)
    everything = checkpoint + final.model_dump_json()
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            everything += (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
    assert_no_secrets(everything, secrets_of(credentials, wire))


def test_sync_against_a_real_socket(tmp_path: Path) -> None:
    sim = GustoSimulator(employees=120, contractors=15, admins=4, faults=Faults(script=["drop", 503]))
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials(), expired=True)
    with sim.serve() as url:
        from access_sync.connectors.gusto.connector import GUSTO
        from access_sync.connectors.spec import Connection

        syncer = GUSTO.syncer(Connection(store, url))
        assert isinstance(syncer, GustoSyncer)
        sync(syncer, tmp_path / "out")
    assert read_snapshot(tmp_path / "out", "gusto")["manifest"]["counts"] == sim.expected_counts()


# ---------------------------------------------------------------------- every page after the first at once


def part_bytes(dest: Path) -> dict[str, bytes]:
    """Each record kind's parts, decompressed and joined: the exact lines, in the order written."""
    latest = json.loads((dest / "snapshots/connector=gusto/latest.json").read_text())
    folder = dest / latest["path"]
    return {
        kind: b"".join(gzip.decompress(part.read_bytes()) for part in sorted((folder / kind).glob("part-*.jsonl.gz")))
        for kind in ("resources", "entitlements", "grants")
    }


def sequential_sync(tmp_path: Path, clock: FakeClock, **company: Any) -> dict[str, bytes]:
    """The same company read by one worker, one page after another: the order every sync must write."""
    sim = GustoSimulator(clock=clock, **company)
    store = write_credentials(tmp_path / "one-by-one.json", sim.issue_credentials())
    sync(syncer_for(store, sim.transport(), clock, concurrency=1), tmp_path / "one-by-one")
    return part_bytes(tmp_path / "one-by-one")


def test_pages_after_the_first_go_out_at_once_and_are_written_as_one_by_one(tmp_path: Path, clock: FakeClock) -> None:
    company: dict[str, Any] = {"employees": 1250, "contractors": 310, "admins": 5}
    sim = GustoSimulator(clock=clock, latency=0.005, **company)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    result = sync(syncer_for(store, sim.transport(), clock), tmp_path / "out")
    employees = f"/v1/companies/{sim.company_uuid}/employees"
    assert sim.max_in_flight[employees] > 1
    assert result.requests == len(sim.request_log) == 2 + 13 + 4 + 1  # token_info, company, the three lists
    assert part_bytes(tmp_path / "out") == sequential_sync(tmp_path, clock, **company)


def test_a_429_in_the_middle_of_a_burst_is_retried_and_the_snapshot_is_the_same(
    tmp_path: Path, clock: FakeClock
) -> None:
    company: dict[str, Any] = {"employees": 900, "contractors": 120, "admins": 4}
    script: list[int | str | None] = [None, None, None, None, None, None, 429, 429, 429]
    faults = Faults(script=script, retry_after=3)
    sim = GustoSimulator(clock=clock, faults=faults, latency=0.002, **company)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    waits: list[float] = []
    sync(syncer_for(store, sim.transport(), clock, sleep=waits.append), tmp_path / "out")
    assert waits.count(3.0) == 3
    gets = [path for method, path in sim.request_log if method == "GET"]
    assert len(gets) == len(set(gets)) + 3  # only the three throttled pages were asked for again
    assert part_bytes(tmp_path / "out") == sequential_sync(tmp_path, clock, **company)


class Rewritten(Wire):
    """Answers with X-Total-Pages (and X-Total-Count) changed as a test says."""

    def __init__(self, sim: GustoSimulator, headers: dict[str, str | None]) -> None:
        super().__init__(sim)
        self.headers = headers

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if "X-Total-Pages" in response.headers:
            for name, value in self.headers.items():
                if value is None:
                    response.headers.pop(name, None)
                else:
                    response.headers[name] = value
        return response


@pytest.mark.parametrize(
    ("headers", "employee_pages"),
    [
        ({"X-Total-Pages": "9", "X-Total-Count": None}, range(1, 10)),  # too many: the empty page 4 ends it
        ({"X-Total-Pages": "1"}, range(1, 4)),  # too few, but X-Total-Count tells how many there are
        ({"X-Total-Pages": "1", "X-Total-Count": None}, range(1, 2)),  # too few, and nothing says otherwise
        ({"X-Total-Pages": "several"}, range(1, 4)),  # unreadable: page by page until a short one
        ({"X-Total-Pages": "0", "X-Total-Count": None}, range(1, 4)),  # below the page it came with: the same
    ],
    ids=["too-many", "too-few-with-count", "too-few", "unreadable", "zero"],
)
def test_a_wrong_x_total_pages_still_gives_a_safe_sync(
    tmp_path: Path, clock: FakeClock, headers: dict[str, str | None], employee_pages: range
) -> None:
    sim = GustoSimulator(employees=250, contractors=100, admins=2, clock=clock)
    wire = Rewritten(sim, headers)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials())
    sync(syncer_for(store, wire, clock), tmp_path / "out")
    calls = wire.api_calls()
    assert len(calls) == len(set(calls))
    asked = {int(httpx.URL(call).params["page"]) for call in calls if "/employees" in call}
    if len(employee_pages) == 1:  # trusting a header that is wrong in the same way as every other one loses pages
        assert asked == {1}
        return
    assert asked == set(employee_pages)
    assert read_snapshot(tmp_path / "out", "gusto")["manifest"]["counts"] == sim.expected_counts()
