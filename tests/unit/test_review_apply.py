"""`review apply`: a decisions file that does not fit its campaign is refused whole, one line per problem; one
that fits becomes one revoke request per `revoke`, and applying it again changes nothing twice."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from access_sync.errors import ConfigurationError
from access_sync.models.provisioning import ProvisioningOutcome
from access_sync.review.apply import ApplyOptions, ApplyResult, CarryOut, apply_decisions
from access_sync.review.campaigns import applications
from access_sync.review.decisions import DecisionsRefused
from tests.review_support import ADMIN, ENGINEERING, FINANCE, campaign_rows, write_csv

OPTIONS = ApplyOptions(operator="alice", mode="carried_out")


class FakeProvisioning:
    """Records every request; answers like the service would (Gusto admin revokes are unsupported)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.opened: list[frozenset[str]] = []

    def open(self, connectors: frozenset[str]) -> CarryOut:
        self.opened.append(connectors)
        return self.carry_out

    def carry_out(self, raw: str) -> ProvisioningOutcome:
        request = json.loads(raw)
        self.requests.append(request)
        status = "unsupported" if request["connector"] == "gusto" else "succeeded"
        return ProvisioningOutcome(
            request_id=request["request_id"],
            connector=request["connector"],
            action="revoke",
            status=status,
            message="Remove the admin in the Gusto UI." if status == "unsupported" else "removed",
            completed_at="2026-03-02T09:10:00Z",
        )


def decide(rows: list[dict[str, str]], choose: Callable[[dict[str, str]], str]) -> list[dict[str, str]]:
    return [{**row, "decision": choose(row), "comment": "reviewed" if choose(row) else ""} for row in rows]


def revoke_leo_and_admins(row: dict[str, str]) -> str:
    if row["account_id"] == "user:leo@acme.test" or (row["entitlement_id"] == ADMIN and "olga" in row["account_id"]):
        return "revoke"
    return "keep" if row["entitlement_id"] == FINANCE else ""


def apply(store, campaign, path, provisioning, clock, **options) -> ApplyResult:
    return apply_decisions(
        store, campaign.campaign_id, path, provisioning.open, ApplyOptions(**{**OPTIONS.__dict__, **options}), clock
    )


def test_each_revoke_becomes_one_request_with_the_review_request_id(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "decisions.csv", decide(campaign_rows(store, campaign), revoke_leo_and_admins))
    provisioning = FakeProvisioning()
    result = apply(store, campaign, path, provisioning, clock)
    leo = {r["item_id"]: r for r in campaign_rows(store, campaign) if r["account_id"] == "user:leo@acme.test"}
    expected = {
        *(f"review:{campaign.campaign_id}:{item}" for item in leo),
        *(
            f"review:{campaign.campaign_id}:{r['item_id']}"
            for r in campaign_rows(store, campaign)
            if "olga" in r["account_id"]
        ),
    }
    assert {request["request_id"] for request in provisioning.requests} == expected
    assert all(request["action"] == "revoke" for request in provisioning.requests)
    engineering_leo = next(
        r for r in provisioning.requests if r["connector"] == "guru" and ENGINEERING in r["grant_id"]
    )
    assert engineering_leo["grant_id"] == f"{ENGINEERING}:user:leo@acme.test"
    assert provisioning.opened == [frozenset({"guru", "gusto"})]
    assert result.tally.revoke == 3 and result.tally.keep == 1  # Leo in two groups, Olga; Maya keeps Finance
    assert [outcome.status for _, outcome in result.attention] == ["unsupported"]  # the Gusto admin: a manual task


def test_the_application_records_who_applied_which_file_and_keeps_a_copy(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "decisions.csv", decide(campaign_rows(store, campaign), revoke_leo_and_admins))
    apply(store, campaign, path, FakeProvisioning(), clock)
    [record] = applications(store, campaign.campaign_id)
    assert record.applied_by == "alice" and record.completed_at and record.mode == "carried_out"
    assert record.decisions_file.name == "decisions.csv" and record.counts["revoke"] == 3
    assert record.outcomes == {"succeeded": 2, "unsupported": 1}
    copy = store.root / f"reviews/{campaign.campaign_id}/applied/{record.apply_id}.decisions.csv"
    assert copy.read_bytes() == path.read_bytes()


def test_applying_the_same_file_twice_keeps_one_record_and_notes_the_repeat(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "decisions.csv", decide(campaign_rows(store, campaign), revoke_leo_and_admins))
    first, second = FakeProvisioning(), FakeProvisioning()
    apply(store, campaign, path, first, clock)
    apply(store, campaign, path, second, clock, operator="bob")
    # The same request ids again: the provisioning service answers them with their first outcome.
    assert [r["request_id"] for r in second.requests] == [r["request_id"] for r in first.requests]
    [record] = applications(store, campaign.campaign_id)
    assert record.applied_by == "alice" and [repeat["by"] for repeat in record.repeats] == ["bob"]


def test_only_undecided_rows_and_keeps_need_no_credentials(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "d.csv", decide(campaign_rows(store, campaign), lambda r: "keep"))
    provisioning = FakeProvisioning()
    result = apply(store, campaign, path, provisioning, clock)
    assert provisioning.opened == [] and result.tally.keep == campaign.items and result.all_done


def test_a_dry_run_lists_the_requests_and_writes_nothing(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "d.csv", decide(campaign_rows(store, campaign), revoke_leo_and_admins))
    provisioning, listed = FakeProvisioning(), []
    apply_decisions(
        store,
        campaign.campaign_id,
        path,
        provisioning.open,
        ApplyOptions("alice", "carried_out", dry_run=True),
        clock,
        lambda item, request, outcome: listed.append(json.loads(request)),
    )
    assert len(listed) == 3 and provisioning.opened == [] and provisioning.requests == []
    assert not (store.root / f"reviews/{campaign.campaign_id}/applied").exists()


def refused(store, campaign, clock, path) -> list[str]:
    provisioning = FakeProvisioning()
    with pytest.raises(DecisionsRefused) as caught:
        apply(store, campaign, path, provisioning, clock)
    assert provisioning.requests == [] and provisioning.opened == []
    assert not (store.root / f"reviews/{campaign.campaign_id}/applied").exists()
    return caught.value.problems


def test_unknown_items_changed_rows_and_bad_decisions_are_each_one_line(store, campaign, clock, tmp_path) -> None:
    rows = decide(campaign_rows(store, campaign), revoke_leo_and_admins)
    rows[0] = {**rows[0], "decision": "remove"}
    rows[1] = {**rows[1], "item_id": "0123456789abcdef"}
    rows[2] = {**rows[2], "account_status": "disabled", "account_name": "Someone Else"}
    rows.append(dict(rows[3]))
    problems = refused(store, campaign, clock, write_csv(tmp_path / "d.csv", rows))
    assert problems == [
        "line 2: decision 'remove' is not keep, revoke or empty",
        f"line 3: item 0123456789abcdef is not in campaign {campaign.campaign_id}",
        f"line 4: item {rows[2]['item_id']} differs from the campaign's items.csv in account_name, account_status",
        f"line {len(rows) + 1}: item {rows[3]['item_id']} appears again (first on line 5)",
    ]


def test_a_file_with_the_wrong_columns_is_refused(store, campaign, clock, tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("item_id,decision\nabc,revoke\n")
    [problem] = refused(store, campaign, clock, path)
    assert problem.startswith("line 1: the header must be exactly: item_id,connector,account_id,")


def test_a_row_with_missing_fields_is_refused(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "d.csv", decide(campaign_rows(store, campaign), lambda r: ""))
    with path.open("a") as extra:
        extra.write("abc,guru\n")
    problems = refused(store, campaign, clock, path)
    assert problems == [f"line {campaign.items + 2}: has 2 fields where 14 are expected"]


def test_a_spreadsheet_bom_and_capitalised_decisions_are_accepted(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "d.csv", decide(campaign_rows(store, campaign), lambda r: " Keep "))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    provisioning = FakeProvisioning()
    assert apply(store, campaign, path, provisioning, clock).tally.keep == campaign.items


def test_a_decision_already_applied_cannot_be_changed(store, campaign, clock, tmp_path) -> None:
    rows = decide(campaign_rows(store, campaign), revoke_leo_and_admins)
    apply(store, campaign, write_csv(tmp_path / "first.csv", rows), FakeProvisioning(), clock)
    leo = next(i for i, row in enumerate(rows) if row["decision"] == "revoke")
    rows[leo] = {**rows[leo], "decision": "keep"}
    problems = refused_after_first(store, campaign, clock, write_csv(tmp_path / "second.csv", rows))
    assert problems == [
        f"line {leo + 2}: item {rows[leo]['item_id']} was already applied as revoke; an applied decision cannot be "
        "changed"
    ]


def refused_after_first(store, campaign, clock, path) -> list[str]:
    provisioning = FakeProvisioning()
    with pytest.raises(DecisionsRefused) as caught:
        apply(store, campaign, path, provisioning, clock)
    assert provisioning.requests == []
    assert len(applications(store, campaign.campaign_id)) == 1
    return caught.value.problems


def test_a_tampered_items_csv_is_refused(store, campaign, clock, tmp_path) -> None:
    items_csv = store.root / f"reviews/{campaign.campaign_id}/items.csv"
    rows = decide(campaign_rows(store, campaign), revoke_leo_and_admins)
    items_csv.write_text(items_csv.read_text().replace("Leo Left", "Leo Right"))
    with pytest.raises(ConfigurationError, match="not the file the campaign wrote"):
        apply(store, campaign, write_csv(tmp_path / "d.csv", rows), FakeProvisioning(), clock)


def test_an_unknown_campaign_is_refused(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "d.csv", decide(campaign_rows(store, campaign), revoke_leo_and_admins))
    with pytest.raises(ConfigurationError, match="no campaign 20990101T000000Z-00000000"):
        apply_decisions(store, "20990101T000000Z-00000000", path, FakeProvisioning().open, OPTIONS, clock)
    with pytest.raises(ConfigurationError, match="is not a campaign id"):
        apply_decisions(store, "../etc", path, FakeProvisioning().open, OPTIONS, clock)


def test_a_file_that_decides_nothing_applies_nothing(store, campaign, clock, tmp_path) -> None:
    path = write_csv(tmp_path / "d.csv", campaign_rows(store, campaign))
    result = apply(store, campaign, path, FakeProvisioning(), clock)
    assert result.application is None and result.tally.undecided == campaign.items
    assert applications(store, campaign.campaign_id) == []


def test_a_repeated_item_is_named_as_the_file_spells_it_once_per_repeat(store, campaign, clock, tmp_path) -> None:
    rows = decide(campaign_rows(store, campaign), revoke_leo_and_admins)
    again = {**rows[3], "item_id": rows[3]["item_id"].upper()}
    rows += [again, dict(rows[3])]
    problems = refused(store, campaign, clock, write_csv(tmp_path / "d.csv", rows))
    assert problems == [
        f"line {len(rows)}: item {again['item_id']} appears again (first on line 5)",
        f"line {len(rows) + 1}: item {rows[3]['item_id']} appears again (first on line 5)",
    ]
