"""The edges of `access-sync` as a new user meets them: each mistake is one line on stderr, never a traceback,
with the exit code of docs/operations.md, and is found before any API is called."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from access_sync.cli.main import main
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator


def one_line(err: str) -> str:
    """The single line on stderr, after checking there is exactly one and it is no traceback."""
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, err
    return err.rstrip("\n")


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> GuruSimulator:
    guru = GuruSimulator(members=40, groups=6)
    monkeypatch.setenv("GURU_USER_EMAIL", guru.ADMIN_EMAIL)
    monkeypatch.setenv("GURU_API_TOKEN", guru.ADMIN_TOKEN)
    for name in ("GURU_BASE_URL", "GUSTO_BASE_URL", "IDEMPOTENCY_TABLE"):
        monkeypatch.delenv(name, raising=False)
    return guru


@pytest.fixture
def guru_url(sim: GuruSimulator) -> Iterator[str]:
    with sim.serve() as root:
        yield f"{root}/api/v1"


@pytest.fixture
def no_aws_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no AWS credentials and no region anywhere (and no instance metadata to ask)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECURITY_TOKEN",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a session made earlier keeps the credentials it found


def outsider(sim: GuruSimulator) -> tuple[str, str]:
    """A group (not All Members) and a team member who is not in it."""
    return next(
        (gid, sim.member_email(i))
        for gid in sim.group_ids()[1:]
        for i in range(2, 40)
        if not sim.is_member(gid, sim.member_email(i))
    )


def grant_of(request_id: str, gid: str, email: str) -> dict[str, object]:
    return {
        "request_id": request_id,
        "connector": "guru",
        "action": "grant",
        "entitlement_id": f"group:{gid}:member",
        "principal": {"resource_type": "user", "id": email},
    }


def sync(guru_url: str, out: str, *extra: str) -> int:
    return main(["sync", "guru", "--base-url", guru_url, "--out", out, *extra])


# --------------------------------------------------------------------------- 1. no traceback for a user error


def test_a_base_url_without_a_scheme_is_exit_2_naming_where_it_came_from(
    sim: GuruSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GURU_BASE_URL", "127.0.0.1:8978/api/v1")

    assert main(["sync", "guru", "--out", str(tmp_path)]) == 2

    assert one_line(capsys.readouterr().err) == (
        "access-sync: error: The Guru base URL 127.0.0.1:8978/api/v1 (from GURU_BASE_URL) must start with https:// "
        "or http://."
    )


def test_an_s3_dest_without_aws_credentials_is_exit_2_before_any_api_call(
    sim: GuruSimulator, guru_url: str, no_aws_account: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync(guru_url, "s3://reviews/access") == 2

    line = one_line(capsys.readouterr().err)
    assert "Cannot write to s3://reviews/access: no AWS credentials were found" in line
    assert sim.requests == 0


def test_an_s3_dest_without_a_bucket_is_exit_2(guru_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert sync(guru_url, "s3://") == 2

    assert "s3:// names no usable S3 bucket: give --out s3://BUCKET/PREFIX" in one_line(capsys.readouterr().err)


def test_an_s3_dest_whose_bucket_does_not_exist_is_exit_2_before_any_api_call(
    sim: GuruSimulator, guru_url: str, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync(guru_url, "s3://no-such-bucket/x") == 2

    assert "Cannot write to s3://no-such-bucket/x (NoSuchBucket)" in one_line(capsys.readouterr().err)
    assert sim.requests == 0


def test_a_secret_id_without_an_aws_region_is_exit_2(
    tmp_path: Path, no_aws_account: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "guru", "--secret-id", "access-sync/guru", "--out", str(tmp_path)]) == 2

    assert one_line(capsys.readouterr().err) == (
        "access-sync: error: Cannot read the secret access-sync/guru: no AWS region is set; set AWS_REGION or "
        "AWS_DEFAULT_REGION."
    )


def test_an_out_that_names_a_file_is_exit_2_before_any_api_call(
    sim: GuruSimulator, guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")

    assert sync(guru_url, str(existing)) == 2

    assert f"The destination {existing} is a file; give --out a folder" in one_line(capsys.readouterr().err)
    assert sim.requests == 0 and existing.read_text() == "mine"


def test_an_out_below_a_file_is_exit_2(guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    assert sync(guru_url, str(tmp_path / "notes.txt" / "snapshots")) == 2

    assert "cannot be a folder: part of its path is a file" in one_line(capsys.readouterr().err)


def test_an_out_that_cannot_be_written_is_exit_2(
    sim: GuruSimulator,
    guru_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refused(self: Path, data: bytes) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_bytes", refused)  # root may write anywhere, so refuse it as a mount would

    assert sync(guru_url, str(tmp_path / "out")) == 2

    line = one_line(capsys.readouterr().err)
    assert f"The destination {tmp_path / 'out'} cannot be written (permission denied)" in line
    assert sim.requests == 0


def test_an_unexpected_error_is_exit_70_in_one_line_and_its_traceback_only_with_verbose(
    guru_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("entitlements")

    monkeypatch.setattr("access_sync.cli.sync_command.sync_and_report", broken)

    assert sync(guru_url, str(tmp_path)) == 70
    line = one_line(capsys.readouterr().err)
    assert line.startswith("access-sync: internal error: KeyError at ") and line.endswith("; run with -v for details")

    assert sync(guru_url, str(tmp_path), "-v") == 70
    err = capsys.readouterr().err
    assert "access-sync: internal error: KeyError" in err and "Traceback" in err


# --------------------------------------------------------------------------- 2. fail fast


def test_a_guru_base_url_without_api_v1_is_exit_2_saying_so(
    guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync(guru_url.removesuffix("/api/v1"), str(tmp_path)) == 2

    assert "Guru base URLs end in /api/v1" in one_line(capsys.readouterr().err)


def test_a_gusto_base_url_that_answers_like_something_else_is_exit_2_saying_so(
    guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = tmp_path / "gusto.json"
    credentials.write_text(json.dumps(GustoSimulator().issue_credentials() | {"access_token_expires_at": ""}))

    assert main(["check", "gusto", "--credentials", str(credentials), "--base-url", guru_url]) == 2

    out, err = capsys.readouterr()
    assert "so it does not look like Gusto's API: use https://api.gusto.com" in one_line(err)
    assert out.splitlines()[1:] == ["  ✗ access token"]  # said once, on stderr


# --------------------------------------------------------------------------- 3. provisioning input


def provision(out: Path, *args: str) -> int:
    return main(["provision", "--out", str(out), *args])


def test_provision_of_input_that_is_not_json_files_a_rejected_outcome_with_the_body_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = 'request_id=r1 connector=guru action=grant {"oops"\n'
    requests = tmp_path / "requests.txt"
    requests.write_text(body)

    assert provision(tmp_path, "--file", str(requests), "-o", "json") == 1

    out, err = capsys.readouterr()
    assert err == ""
    (printed,) = [json.loads(line) for line in out.splitlines()]
    assert printed["status"] == "rejected" and printed["raw_body"] == body
    filed = json.loads((tmp_path / f"provisioning/results/{printed['request_id']}.json").read_text())
    assert filed["raw_body"] == body and filed["message"] == "The request was rejected: the body is not JSON."


def test_provision_of_an_unknown_resource_type_is_rejected_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = {
        "request_id": "rt-1",
        "connector": "gusto",
        "action": "delete_resource",
        "resource": {"resource_type": "widget", "id": "w"},
    }
    (tmp_path / "r.json").write_text(json.dumps(request))
    credentials = tmp_path / "gusto.json"
    credentials.write_text(json.dumps(GustoSimulator().issue_credentials()))

    assert provision(tmp_path, "--file", str(tmp_path / "r.json"), "--credentials", str(credentials)) == 1

    filed = json.loads((tmp_path / "provisioning/results/rt-1.json").read_text())
    assert filed["status"] == "rejected"
    assert (
        "unknown resource_type 'widget' for gusto; use one of company, employee, contractor, user" in filed["message"]
    )


def test_a_revoke_reusing_a_grants_request_id_is_rejected_and_changes_nothing(
    sim: GuruSimulator, guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gid, email = outsider(sim)
    grant = grant_of("req-7", gid, email)
    revoke = {
        "request_id": "req-7",
        "connector": "guru",
        "action": "revoke",
        "grant_id": f"group:{gid}:member:user:{email}",
    }
    (tmp_path / "grant.json").write_text(json.dumps(grant))
    (tmp_path / "revoke.json").write_text(json.dumps(revoke))
    assert provision(tmp_path, "--file", str(tmp_path / "grant.json"), "--base-url", guru_url) == 0
    first = (tmp_path / "provisioning/results/req-7.json").read_text()
    capsys.readouterr()

    assert provision(tmp_path, "--file", str(tmp_path / "revoke.json"), "--base-url", guru_url, "-o", "json") == 1

    (printed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed["status"] == "rejected"
    assert "request_id req-7 was already used for a different request" in printed["message"]
    assert sim.is_member(gid, email) and len(sim.mutations) == 1
    assert (tmp_path / "provisioning/results/req-7.json").read_text() == first
    assert len(list((tmp_path / "provisioning/results").glob("rejected-*.json"))) == 1


def test_provision_of_an_empty_array_says_no_requests_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "none.json").write_text("[]")

    assert provision(tmp_path, "--file", str(tmp_path / "none.json")) == 0

    out, err = capsys.readouterr()
    assert out == "" and "no requests in" in one_line(err)


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_provision_on_a_terminal_without_a_file_says_how_to_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal())

    assert provision(tmp_path) == 2

    assert "reads requests as JSON from --file FILE or from a pipe" in one_line(capsys.readouterr().err)


def test_provision_names_the_group_rather_than_its_id(
    sim: GuruSimulator, guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gid, email = outsider(sim)
    grant = grant_of("named-1", gid, email)
    (tmp_path / "r.json").write_text(json.dumps(grant))

    assert provision(tmp_path, "--file", str(tmp_path / "r.json"), "--base-url", guru_url) == 0

    message = json.loads((tmp_path / "provisioning/results/named-1.json").read_text())["message"]
    assert message.startswith(f'{email} is a member of group "') and gid not in message


# --------------------------------------------------------------------------- 4. CLI habits


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == "access-sync 0.1.0\n"


def test_global_options_are_accepted_after_the_subcommand(
    guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync(guru_url, str(tmp_path), "-o", "json", "-q") == 0
    out, err = capsys.readouterr()
    result = json.loads(out)  # one JSON document and nothing else
    assert (result["status"], result["counts"]["resources"]) == ("complete", {"group": 6, "user": 40})
    assert result["sync_id"] and result["snapshot"].startswith("snapshots/connector=guru/") and err == ""

    assert sync(guru_url, str(tmp_path), "-v") == 0
    assert '"message":"sync started"' in capsys.readouterr().err


def test_the_text_summary_counts_in_plurals(guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sync(guru_url, str(tmp_path)) == 0
    assert ": 6 groups, 40 users, " in capsys.readouterr().out


def test_check_prints_json_or_csv(guru_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "guru", "--base-url", guru_url, "-o", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and [c["name"] for c in report["checks"]] == [
        "credentials",
        "list members",
        "list groups",
    ]

    assert main(["check", "guru", "--base-url", guru_url, "-o", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "name,status,message" and lines[1].startswith("credentials,passed,")


def test_verbose_and_quiet_together_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "guru", "-v", "-q"]) == 2
    assert "Give -v (--verbose) or -q (--quiet), not both." in one_line(capsys.readouterr().err)


def test_a_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "guru", "--no-such-option"]) == 2
    assert "unrecognized arguments: --no-such-option" in one_line(capsys.readouterr().err)


def test_sync_refuses_csv(guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sync(guru_url, str(tmp_path), "-o", "csv") == 2
    assert "access-sync sync prints text or json, not csv" in one_line(capsys.readouterr().err)


def test_a_second_local_sync_into_the_same_folder_waits_for_nobody_and_says_so(
    sim: GuruSimulator, guru_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from access_sync.stores.lease import FileLease

    with FileLease(tmp_path / "snapshots/connector=guru/.sync.lock").hold():
        assert sync(guru_url, str(tmp_path)) == 6

    assert f"Another guru sync is writing to {tmp_path}; let it finish" in one_line(capsys.readouterr().err)
    assert sim.requests == 0


def test_an_s3_sync_takes_the_stacks_sync_lease_when_told_its_table(
    guru_url: str, aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from access_sync.stores.lease import DynamoLease, sync_lease_key
    from tests.integration.conftest import TABLE

    boto3.client("s3").create_bucket(Bucket="reviews")
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    with DynamoLease(TABLE, sync_lease_key("guru")).take("20261201T080000Z-0badc0de") as tenure:
        assert tenure is not None
        assert sync(guru_url, "s3://reviews/access") == 6
    assert "Another guru sync is writing to s3://reviews/access" in one_line(capsys.readouterr().err)

    assert sync(guru_url, "s3://reviews/access") == 0  # released: the next one runs
