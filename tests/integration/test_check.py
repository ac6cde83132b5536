"""`access-sync check guru|gusto` against the simulators on loopback ports: good, wrong and under-privileged
credentials, with the exit code, one report line per check, one stderr sentence per problem and no secret shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from access_sync.cli.main import main
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import DEFAULT_SCOPES, GustoSimulator
from tests.gusto_support import EXPIRED, assert_no_secrets, secrets_of, write_credentials
from tests.integration.conftest import store_secret

SYNC_SCOPES = "companies:read employees:read contractors:read company_admin:read"


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GURU_USER_EMAIL",
        "GURU_API_TOKEN",
        "BATON_USER_EMAIL",
        "BATON_API_TOKEN",
        "GURU_BASE_URL",
        "GUSTO_BASE_URL",
        "IDEMPOTENCY_TABLE",
    ):
        monkeypatch.delenv(name, raising=False)


def report(capsys: pytest.CaptureFixture[str], secrets: set[str]) -> tuple[list[str], str]:
    """The report's check lines and stderr, after asserting that no secret appears in either."""
    out, err = capsys.readouterr()
    assert_no_secrets(out + err, secrets)
    return [line.strip() for line in out.splitlines()[1:]], err


def one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("access-sync: error: "), err
    return lines[0]


# ---------------------------------------------------------------------------------------------- Guru


@pytest.fixture(scope="module")
def guru_url() -> Iterator[str]:
    with GuruSimulator(members=60).serve() as root:
        yield f"{root}/api/v1"


def check_guru(guru_url: str, monkeypatch: pytest.MonkeyPatch, email: str, token: str) -> int:
    monkeypatch.setenv("GURU_USER_EMAIL", email)
    monkeypatch.setenv("GURU_API_TOKEN", token)
    return main(["check", "guru", "--base-url", guru_url])


def test_guru_admin_user_token_passes(
    guru_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_guru(guru_url, monkeypatch, GuruSimulator.ADMIN_EMAIL, GuruSimulator.ADMIN_TOKEN) == 0

    lines, err = report(capsys, {GuruSimulator.ADMIN_TOKEN})
    assert lines == [
        f"✓ credentials: user token of {GuruSimulator.ADMIN_EMAIL} on the team {GuruSimulator.TEAM_NAME}",
        "✓ list members: 50+ members visible",
        "✓ list groups: 6 groups visible",
    ]
    assert err == ""


def test_guru_wrong_token_is_a_401_sentence(
    guru_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-a-guru-token-1234"
    assert check_guru(guru_url, monkeypatch, GuruSimulator.ADMIN_EMAIL, wrong) == 3

    lines, err = report(capsys, {wrong})
    assert lines == ["✗ credentials"]  # the sentence is on stderr, once
    assert "check the user email and API token" in one_error(err)


def test_guru_author_token_cannot_list_members_or_groups(
    guru_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_guru(guru_url, monkeypatch, GuruSimulator.AUTHOR_EMAIL, GuruSimulator.AUTHOR_TOKEN) == 3

    lines, err = report(capsys, {GuruSimulator.AUTHOR_TOKEN})
    assert lines[0].startswith(f"✓ credentials: user token of {GuruSimulator.AUTHOR_EMAIL}")
    assert lines[1] == "✗ list members"
    assert lines[2].startswith("✗ list groups: Guru denied access to /api/v1/groups (HTTP 403)")
    assert "must be a Guru admin" in one_error(err)


def test_guru_collection_token_is_not_a_user_token(
    guru_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_guru(guru_url, monkeypatch, GuruSimulator.COLLECTION_ID, GuruSimulator.COLLECTION_TOKEN) == 3

    lines, err = report(capsys, {GuruSimulator.COLLECTION_TOKEN})
    assert lines == ["✗ token type"]
    line = one_error(err)
    assert "a COLLECTION token rather than a user token" in line and "Generate User Token" in line


def test_guru_without_credentials_says_where_to_put_them(guru_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "guru", "--base-url", guru_url]) == 2
    _, err = capsys.readouterr()
    assert "set GURU_USER_EMAIL and GURU_API_TOKEN, or pass --secret-id" in one_error(err)


def test_guru_credentials_from_secrets_manager(aws: None, guru_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    secret = {"user_email": GuruSimulator.ADMIN_EMAIL, "api_token": GuruSimulator.ADMIN_TOKEN}
    store_secret("access-sync/guru", secret)

    assert main(["check", "guru", "--base-url", guru_url, "--secret-id", "access-sync/guru"]) == 0
    lines, _ = report(capsys, {GuruSimulator.ADMIN_TOKEN})
    assert all(line.startswith("✓") for line in lines) and len(lines) == 3


# ---------------------------------------------------------------------------------------------- Gusto


@pytest.fixture
def scopes() -> str:
    return DEFAULT_SCOPES


@pytest.fixture
def gusto(scopes: str) -> GustoSimulator:
    return GustoSimulator(scopes=scopes)


@pytest.fixture
def gusto_url(gusto: GustoSimulator) -> Iterator[str]:
    with gusto.serve() as root:
        yield root


def connection(tmp_path: Path, gusto: GustoSimulator, **changes: str) -> tuple[Path, dict[str, Any]]:
    """A credentials file as `connect` leaves it (with `changes`), and what was written to it."""
    credentials = gusto.issue_credentials() | changes
    return write_credentials(tmp_path / "gusto.json", credentials).path, credentials


def check_gusto(gusto_url: str, credentials: Path) -> int:
    return main(["check", "gusto", "--base-url", gusto_url, "--credentials", str(credentials)])


def test_gusto_good_connection_passes_without_a_refresh(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, credentials = connection(tmp_path, gusto)

    assert check_gusto(gusto_url, path) == 0

    lines, err = report(capsys, secrets_of(credentials))
    assert lines == [
        "✓ access token: still valid, no refresh needed",
        f"✓ company: {gusto.company_name} ({gusto.company_uuid})",
        f"✓ sync scopes: {', '.join(SYNC_SCOPES.split())}",
        "✓ provisioning scopes: employees:manage, company_admin:write",
    ]
    assert err == "" and gusto.refresh_count == 0


def test_gusto_refreshes_a_due_token_and_stores_the_rotated_pair(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two minutes left is inside the five-minute margin (docs/secrets.md, rule 3): due for a refresh.
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    path, before = connection(tmp_path, gusto, access_token_expires_at=soon)

    assert check_gusto(gusto_url, path) == 0

    after = json.loads(path.read_text())
    lines, _ = report(capsys, secrets_of(before) | secrets_of(after))
    assert lines[0] == f"✓ access token: refreshed; the new tokens are stored in the file {path}"
    assert gusto.refresh_count == 1
    assert gusto.refresh_token_valid(after["refresh_token"])
    assert not gusto.refresh_token_valid(before["refresh_token"])


def test_gusto_revoked_connection_exits_4_and_says_reauthorise(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, credentials = connection(tmp_path, gusto)
    gusto.revoke_all()  # the customer disconnected the app in Gusto

    assert check_gusto(gusto_url, path) == 4

    lines, err = report(capsys, secrets_of(credentials))
    assert lines[0].startswith("✓ access token")  # still within its lifetime: only Gusto knows it is revoked
    assert lines[1] == "✗ company"
    assert "re-authorise the app with `access-sync connect gusto`" in one_error(err)


def test_gusto_revoked_connection_due_for_refresh_exits_4(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, credentials = connection(tmp_path, gusto, access_token_expires_at=EXPIRED)
    gusto.revoke_all()

    assert check_gusto(gusto_url, path) == 4

    lines, err = report(capsys, secrets_of(credentials))
    assert lines == ["✗ access token"]
    assert "re-authorise the app with `access-sync connect gusto`" in one_error(err)


def test_gusto_wrong_client_secret_is_named(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-the-client-secret-0000"
    path, credentials = connection(tmp_path, gusto, client_secret=wrong, access_token_expires_at=EXPIRED)

    assert check_gusto(gusto_url, path) == 3

    _, err = report(capsys, secrets_of(credentials) | {wrong})
    assert "rejected the app's client_id and client_secret (invalid_client)" in one_error(err)


@pytest.mark.parametrize("scopes", ["companies:read employees:read employees:manage"])
def test_gusto_lists_the_scopes_the_token_lacks(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, credentials = connection(tmp_path, gusto)

    assert check_gusto(gusto_url, path) == 3

    lines, err = report(capsys, secrets_of(credentials))
    assert lines[2] == "✗ sync scopes"
    assert lines[3].startswith("⚠ provisioning scopes: The token lacks company_admin:write, so syncs work")
    assert one_error(err) == (
        "access-sync: error: The token lacks contractors:read, company_admin:read, which a sync needs; Gusto "
        "assigns scopes to the app: ask for them in the Gusto Developer Portal, then run `access-sync connect "
        "gusto` again."
    )


@pytest.mark.parametrize("scopes", [SYNC_SCOPES])
def test_gusto_missing_provisioning_scopes_are_only_a_warning(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, credentials = connection(tmp_path, gusto)

    assert check_gusto(gusto_url, path) == 0

    lines, err = report(capsys, secrets_of(credentials))
    assert lines[2].startswith("✓ sync scopes")
    assert lines[3].startswith("⚠ provisioning scopes: The token lacks employees:manage, company_admin:write")
    assert err == ""


def test_gusto_credentials_from_secrets_manager(
    aws: None, gusto: GustoSimulator, gusto_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = gusto.issue_credentials()
    store_secret("access-sync/gusto", credentials)

    assert main(["check", "gusto", "--base-url", gusto_url, "--secret-id", "access-sync/gusto"]) == 0

    lines, _ = report(capsys, secrets_of(credentials))
    assert len(lines) == 4 and all(line.startswith("✓") for line in lines)


def test_gusto_needs_to_know_where_the_credentials_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "gusto"]) == 2
    _, err = capsys.readouterr()
    assert "--credentials FILE or --secret-id ID" in one_error(err)
