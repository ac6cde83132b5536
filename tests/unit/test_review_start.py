"""`review start`: items.csv in the documented columns, person status and reviewer from Gusto, findings flags,
scopes, and a campaign.json that pins every snapshot it used."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from access_sync.errors import ConfigurationError
from access_sync.review import page
from access_sync.review.layout import item_id
from access_sync.review.records import Campaign
from access_sync.review.start import CampaignRequest, start_campaign
from access_sync.snapshot.reader import SnapshotReader
from access_sync.stores.blob import LocalBlobStore
from tests.review_support import (
    ADMIN,
    ENGINEERING,
    FINANCE,
    Clock,
    correlated_org,
    finding,
    guru_records,
    gusto_records,
    write_findings,
    write_snapshot,
)

COLUMNS = (
    "item_id,connector,account_id,account_name,account_email,account_status,person_status,entitlement_id,"
    "entitlement_name,resource_name,findings,reviewer,decision,comment"
)


def start(store: LocalBlobStore, clock: Clock, connectors: list[str] | None = None, scope: str = "all") -> Campaign:
    request = CampaignRequest(connectors=connectors, scope=scope, operator="tester")  # type: ignore[arg-type]
    return start_campaign(store, request, ["guru", "gusto"], clock())


def rows(store: LocalBlobStore, campaign: Campaign) -> list[dict[str, str]]:
    text = (store.root / f"reviews/{campaign.campaign_id}/items.csv").read_text()
    return list(csv.DictReader(io.StringIO(text)))


def by_account(items: list[dict[str, str]], entitlement: str) -> dict[str, dict[str, str]]:
    return {row["account_id"]: row for row in items if row["entitlement_id"] == entitlement}


def test_items_csv_has_exactly_the_documented_columns_and_one_row_per_grant(store, clock) -> None:
    correlated_org(store, clock)
    campaign = start(store, clock)
    header = (store.root / f"reviews/{campaign.campaign_id}/items.csv").read_text().splitlines()[0]
    assert header == COLUMNS
    items = rows(store, campaign)
    assert len(items) == campaign.items == 7 + 2 + 2  # Engineering, Finance, two Gusto admins
    assert campaign.items_by_connector == {"guru": 9, "gusto": 2}
    for row in items:
        grant = f"{row['entitlement_id']}:{row['account_id']}"
        assert row["item_id"] == hashlib.sha256(grant.encode()).hexdigest()[:16] == item_id(grant)
        assert row["decision"] == row["comment"] == ""


def test_person_status_and_reviewer_come_from_gusto(store, clock) -> None:
    correlated_org(store, clock)
    engineering = by_account(rows(store, start(store, clock)), ENGINEERING)
    expected = {
        "user:maya@acme.test": ("active", ""),  # Maya has no manager
        "user: ANN@Acme.test ": ("active", "maya@acme.test"),  # case and spaces ignored; manager's work_email
        "user:leo@acme.test": ("left", "maya@acme.test"),
        "user:sam@acme.test": ("scheduled_to_leave", "maya@acme.test"),
        "user:dana@acme.test": ("ambiguous", ""),
        "user:ghost@else.test": ("no_person", ""),
        "user:carl@contract.test": ("active", ""),
    }
    assert {account: (row["person_status"], row["reviewer"]) for account, row in engineering.items()} == expected
    assert engineering["user:leo@acme.test"]["account_name"] == "Leo Left"
    assert engineering["user:leo@acme.test"]["entitlement_name"] == "Engineering member"
    assert engineering["user:leo@acme.test"]["resource_name"] == "Engineering"


def test_identity_overrides_name_the_person_or_nobody(store, clock) -> None:
    correlated_org(store, clock)
    overrides = [
        {"account": "guru:user:ghost@else.test", "person": "gusto:employee:e-dana1"},
        {"account": "guru:user:leo@acme.test", "ignore": "shared mailbox"},
    ]
    store.put_bytes("config/identities.json", json.dumps(overrides).encode())
    engineering = by_account(rows(store, start(store, clock)), ENGINEERING)
    ghost = engineering["user:ghost@else.test"]
    # Dana One's manager, Ann, has no work_email: her email names the reviewer.
    assert (ghost["person_status"], ghost["reviewer"]) == ("active", "ann@acme.test")
    assert engineering["user:leo@acme.test"]["person_status"] == "no_person"


def test_findings_column_lists_the_open_findings_of_the_latest_run(store, clock) -> None:
    correlated_org(store, clock)
    write_findings(
        store,
        [
            finding("leaver_with_access", "guru", "user", "leo@acme.test"),
            finding("unmatched_account", "guru", "user", "ghost@else.test"),
            finding("ambiguous_identity", "guru", "user", "dana@acme.test", status="resolved"),
            finding("admin_not_current_worker", "gusto", "user", "u-olga"),
        ],
    )
    campaign = start(store, clock)
    items = rows(store, campaign)
    engineering, admins = by_account(items, ENGINEERING), by_account(items, ADMIN)
    assert engineering["user:leo@acme.test"]["findings"] == "leaver_with_access"
    assert engineering["user:ghost@else.test"]["findings"] == "unmatched_account"
    assert engineering["user:dana@acme.test"]["findings"] == ""  # resolved findings are not flags
    assert admins["user:u-olga"]["findings"] == "admin_not_current_worker"
    assert campaign.findings is not None and campaign.findings.run_id == "20260302T085900Z-0f0f0f0f"
    assert campaign.findings.manifest_sha256 is not None


def test_without_a_findings_run_the_column_is_empty_and_campaign_json_says_so(store, clock) -> None:
    correlated_org(store, clock)
    campaign = start(store, clock)
    assert all(row["findings"] == "" for row in rows(store, campaign))
    assert campaign.findings is None
    assert any("No findings run" in note for note in campaign.notes)


def test_privileged_scope_is_permission_entitlements_plus_the_listed_groups(store, clock) -> None:
    correlated_org(store, clock)
    store.put_bytes("config/privileged.json", json.dumps([FINANCE, "group:gone:member"]).encode())
    campaign = start(store, clock, scope="privileged")
    entitlements = {row["entitlement_id"] for row in rows(store, campaign)}
    assert entitlements == {ADMIN, FINANCE}
    assert campaign.privileged_entitlements == sorted([FINANCE, "group:gone:member"])
    assert any("group:gone:member" in note for note in campaign.notes)


def test_a_malformed_privileged_list_is_a_configuration_error(store, clock) -> None:
    correlated_org(store, clock)
    store.put_bytes("config/privileged.json", b'{"groups": []}')
    with pytest.raises(ConfigurationError, match="JSON list of entitlement ids"):
        start(store, clock, scope="privileged")


def test_campaign_json_pins_every_snapshot_it_used_by_manifest_sha256(store, clock) -> None:
    correlated_org(store, clock)
    campaign = start(store, clock, ["guru"])
    assert campaign.connectors == ["guru"]
    used = {snapshot.connector: snapshot for snapshot in campaign.snapshots}
    assert used["guru"].used_for == ["items"] and used["gusto"].used_for == ["person_status"]
    for connector, snapshot in used.items():
        reader = SnapshotReader.latest(store, connector)
        assert reader is not None and snapshot.sync_id == reader.manifest.sync_id
        stored = store.get_bytes(f"{reader.folder}/manifest.json")
        assert stored is not None and snapshot.manifest_sha256 == hashlib.sha256(stored).hexdigest()
    saved = Campaign.model_validate_json((store.root / f"reviews/{campaign.campaign_id}/campaign.json").read_bytes())
    assert saved == campaign and saved.created_by == "tester"
    items = (store.root / f"reviews/{campaign.campaign_id}/items.csv").read_bytes()
    assert saved.items_sha256 == hashlib.sha256(items).hexdigest()


def test_without_gusto_person_status_is_empty_and_campaign_json_says_so(store, clock) -> None:
    write_snapshot(store, guru_records(), clock)
    campaign = start(store, clock)
    assert campaign.connectors == ["guru"]
    assert all(row["person_status"] == "" for row in rows(store, campaign))
    assert any("No complete Gusto snapshot" in note for note in campaign.notes)


def test_a_connector_asked_for_without_a_snapshot_is_refused(store, clock) -> None:
    write_snapshot(store, gusto_records(), clock)
    with pytest.raises(ConfigurationError, match=r"no complete guru snapshot.*access-sync sync guru"):
        start(store, clock, ["guru"])
    assert not (store.root / "reviews").exists()


def test_nothing_synced_is_refused(store, clock) -> None:
    with pytest.raises(ConfigurationError, match="no complete snapshot"):
        start(store, clock)


def test_the_page_embeds_every_row_and_is_self_contained(store, clock) -> None:
    correlated_org(store, clock)
    campaign = start(store, clock)
    html = (store.root / f"reviews/{campaign.campaign_id}/review.html").read_text()
    assert campaign.page_lists_items
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html and " src=" not in html
    start_at = html.index('id="items-data">') + len('id="items-data">')
    embedded = json.loads(html[start_at : html.index("</script>", start_at)])
    assert len(embedded) == campaign.items
    assert campaign.campaign_id in html


def test_hostile_names_cannot_end_the_embedded_data(store, clock) -> None:
    members = {"evil@else.test": "</script><script>alert(1)</script>"}
    write_snapshot(store, guru_records({"g-eng": ["evil@else.test"]}, members), clock)
    campaign = start(store, clock)
    html = (store.root / f"reviews/{campaign.campaign_id}/review.html").read_text()
    assert "<script>alert(1)" not in html
    assert html.count("</script>") == 4  # the three data blocks and the page's script: nothing from the data


def test_above_the_page_limit_the_page_lists_nothing_and_says_to_use_items_csv(
    store, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    correlated_org(store, clock)
    monkeypatch.setattr("access_sync.review.start.PAGE_ITEM_LIMIT", 5)
    monkeypatch.setattr(page, "PAGE_ITEM_LIMIT", 5)
    campaign = start(store, clock)
    html = (store.root / f"reviews/{campaign.campaign_id}/review.html").read_text()
    assert not campaign.page_lists_items
    assert 'id="items-data">[]<' in html and "too large for this page" in html and "items.csv" in html


def test_a_campaign_over_many_accounts_has_each_grant_joined_with_its_own_account_in_snapshot_order(
    store, clock
) -> None:
    members = {f"m{index}@acme.test": f"Member {index}" for index in range(1500)}
    groups = {f"g{index}": f"Group {index}" for index in range(30)}
    memberships = {gid: [f"m{(g * 37 + k * 11) % 1500}@acme.test" for k in range(50)] for g, gid in enumerate(groups)}
    write_snapshot(store, guru_records(memberships, members, groups), clock)
    items = rows(store, start(store, clock))
    grants = [
        (f"group:{gid}:member", f"user:{member}", member, gid)
        for gid, listed in memberships.items()
        for member in listed
    ]
    assert [(row["entitlement_id"], row["account_id"]) for row in items] == [grant[:2] for grant in grants]
    for row, (_, _, member, gid) in zip(items, grants, strict=True):
        assert (row["account_name"], row["account_email"]) == (members[member], member)
        assert (row["resource_name"], row["person_status"]) == (groups[gid], "")
