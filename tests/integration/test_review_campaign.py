"""A whole campaign through the CLI against the simulators: start → decisions → apply → sync → report.

The revoked grants are removed exactly once, the report shows them verified, Gusto admin revokes are manual
tasks, and a tampered or stale decisions file is refused without changing anything. On S3 with
PROVISION_QUEUE_URL, revokes go through the queue to the real ProvisioningFunction handler.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from access_sync.cli.main import main
from access_sync_sim.guru import GuruSimulator
from tests.helpers import sqs_event
from tests.integration.conftest import BUCKET, Handler
from tests.review_support import Org, read_csv, start, write_csv


def choose(rows: list[dict[str, str]], guru: GuruSimulator) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Revoke two memberships of a group that can be changed and one Gusto admin (if Gusto is reviewed); keep the
    rest of that group."""
    group = guru.group_ids()[1]
    members = [r for r in rows if r["entitlement_id"] == f"group:{group}:member"]
    admins = [r for r in rows if r["connector"] == "gusto"]
    revoked = [*members[:2], *admins[:1]]
    for row in rows:
        row["decision"] = "revoke" if row in revoked else "keep" if row in members else ""
        row["comment"] = "left the team" if row in revoked else ""
    return rows, revoked


def synced_campaign(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> tuple[str, list[dict[str, str]], list[dict[str, str]]]:
    """Both services synced, a campaign started, and the rows decided by `choose`: (id, rows, revoked rows)."""
    org.sync()
    campaign_id = start(str(org.out), capsys)
    rows, revoked = choose(read_csv((org.out / "reviews" / campaign_id / "items.csv").read_text()), org.guru)
    return campaign_id, rows, revoked


def test_a_campaign_revokes_exactly_the_decided_grants_once_and_the_report_verifies_them(
    org: Org, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    campaign_id, rows, revoked = synced_campaign(org, capsys)
    folder = org.out / "reviews" / campaign_id
    decisions = write_csv(tmp_path / "decisions.csv", rows)

    args = ["review", "apply", campaign_id, "--decisions", str(decisions), "--out", str(org.out)]
    assert main([*args, "--credentials", str(org.credentials)]) == 1  # the Gusto admin is a manual task
    out = capsys.readouterr().out
    assert "manual tasks (1)" in out and "Gusto UI" in out
    removed = [(gid, email) for method, gid, email in org.guru.mutations if method == "DELETE"]
    expected = [(r["entitlement_id"].split(":")[1], r["account_id"].removeprefix("user:")) for r in revoked[:2]]
    assert sorted(removed) == sorted(expected)

    # The same file again changes nothing twice.
    assert main([*args, "--credentials", str(org.credentials)]) == 1
    assert len(org.guru.mutations) == 2
    capsys.readouterr()

    time.sleep(1.05)  # outcomes are stamped to the second: a snapshot of the same second may predate them
    org.sync()
    assert main(["review", "report", campaign_id, "--out", str(org.out)]) == 0
    printed = capsys.readouterr().out
    assert "verified 2" in printed and "not removed 1" in printed and "evidence.html" in printed
    evidence = json.loads((folder / "evidence.json").read_text())
    by_item = {item["item_id"]: item for item in evidence["items"]}
    assert [by_item[r["item_id"]]["verification"] for r in revoked] == ["verified", "verified", "not_removed"]
    assert by_item[revoked[2]["item_id"]]["outcome"]["status"] == "unsupported"
    assert [task["item_id"] for task in evidence["manual_tasks"]] == [revoked[2]["item_id"]]
    assert all(item["verification"] == "kept" for item in evidence["items"] if item["decision"] == "keep")
    assert len(evidence["applications"]) == 1 and len(evidence["applications"][0]["repeats"]) == 1
    assert (folder / "evidence.html").read_text().count("<svg") == 1


def test_a_tampered_or_stale_decisions_file_is_refused_without_changing_anything(
    org: Org, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    campaign_id, rows, _ = synced_campaign(org, capsys)
    tampered = [dict(row) for row in rows]
    tampered[0]["account_email"] = "someone.else@example.com"
    tampered[1]["decision"] = "delete"
    args = ["review", "apply", campaign_id, "--out", str(org.out), "--credentials", str(org.credentials)]
    assert main([*args, "--decisions", str(write_csv(tmp_path / "tampered.csv", tampered))]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"tampered.csv line 2: item {rows[0]['item_id']} differs from the campaign's items.csv in account_email",
        "tampered.csv line 3: decision 'delete' is not keep, revoke or empty",
        "access-sync: error: tampered.csv was refused (2 problems); nothing was applied.",
    ]

    # A file decided for another campaign: its Guru rows are not items of a Gusto-only campaign.
    stale = start(str(org.out), capsys, "--connector", "gusto")
    assert main([*args[:2], stale, *args[3:], "--decisions", str(write_csv(tmp_path / "stale.csv", rows))]) == 2
    assert "is not in campaign" in capsys.readouterr().err
    named = write_csv(tmp_path / f"decisions-{campaign_id}.csv", rows)
    assert main([*args[:2], stale, *args[3:], "--decisions", str(named)]) == 2
    assert f"is named for campaign {campaign_id}, not {stale}" in capsys.readouterr().err
    assert org.guru.mutations == [] and org.gusto.mutations == []
    assert not (org.out / "reviews" / campaign_id / "applied").exists()
    assert not (org.out / "provisioning").exists()


def test_a_dry_run_lists_the_revokes_and_changes_nothing(
    org: Org, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    campaign_id, rows, _ = synced_campaign(org, capsys)
    path = write_csv(tmp_path / "d.csv", rows)
    assert main(["review", "apply", campaign_id, "--decisions", str(path), "--out", str(org.out), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would revoke") == 3 and f"review:{campaign_id}:" in out and "dry run" in out
    assert org.guru.mutations == [] and not (org.out / "provisioning").exists()


def test_an_unknown_campaign_is_one_line_exit_2(org: Org, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "report", "20990101T000000Z-00000000", "--out", str(org.out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no campaign 20990101T000000Z-00000000" in err


def test_on_s3_with_a_queue_revokes_go_through_the_provisioning_function(
    handler: Handler,
    guru: GuruSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    dest = f"s3://{BUCKET}"
    monkeypatch.setenv("GURU_USER_EMAIL", guru.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", guru.ADMIN_TOKEN)
    assert main(["sync", "guru", "--out", dest]) == 0
    campaign_id = start(dest, capsys, "--connector", "guru")
    items = boto3.client("s3").get_object(Bucket=BUCKET, Key=f"reviews/{campaign_id}/items.csv")["Body"].read()
    rows, revoked = choose(read_csv(items.decode()), guru)
    queue = boto3.client("sqs").create_queue(QueueName="provision")["QueueUrl"]
    monkeypatch.setenv("PROVISION_QUEUE_URL", queue)

    path = write_csv(tmp_path / "d.csv", rows)
    assert main(["review", "apply", campaign_id, "--decisions", str(path), "--out", dest]) == 0
    assert capsys.readouterr().out.count("queued") >= 2 and guru.mutations == []
    messages = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = [message["Body"] for message in messages]
    assert sorted(json.loads(body)["request_id"] for body in bodies) == sorted(
        f"review:{campaign_id}:{row['item_id']}" for row in revoked[:2]
    )
    assert handler(sqs_event(*bodies), _context())["batchItemFailures"] == []
    assert len(guru.mutations) == 2

    assert main(["sync", "guru", "--out", dest]) == 0
    assert main(["review", "report", campaign_id, "--out", dest]) == 0
    evidence: dict[str, Any] = json.loads(
        boto3.client("s3").get_object(Bucket=BUCKET, Key=f"reviews/{campaign_id}/evidence.json")["Body"].read()
    )
    revoked_items = [i for i in evidence["items"] if i["decision"] == "revoke"]
    assert [i["verification"] for i in revoked_items] == ["verified", "verified"]
    assert {i["outcome"]["status"] for i in revoked_items} == {"succeeded"}
    caller = boto3.client("sts").get_caller_identity()["Arn"]
    assert evidence["applications"][0]["applied_by"] == caller == evidence["generated_by"]
    assert evidence["applications"][0]["mode"] == "queued"


def _context() -> Any:
    from tests.helpers import LocalLambdaContext

    return LocalLambdaContext(function_name="provisioning")
