"""`access-sync check guru|gusto` against the simulators on loopback ports: good, wrong and under-privileged
credentials, with the exit code, one report line per check, one stderr sentence per problem and no secret shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from access_sync.cli.main import main
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import CLIENT_SECRET, GustoSimulator
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


def report(capsys: pytest.CaptureFixture[str], *secrets: str) -> tuple[list[str], str]:
    """The report's check lines and stderr, after asserting that no secret appears in either."""
    out, err = capsys.readouterr()
    for value in secrets:
        assert value not in out and value not in err
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

    lines, err = report(capsys, GuruSimulator.ADMIN_TOKEN)
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

    lines, err = report(capsys, wrong)
    assert len(lines) == 1 and lines[0].startswith("✗ credentials: Guru refused the credentials (HTTP 401)")
    assert "check the user email and API token" in one_error(err)


def test_guru_author_token_cannot_list_members_or_groups(
    guru_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_guru(guru_url, monkeypatch, GuruSimulator.AUTHOR_EMAIL, GuruSimulator.AUTHOR_TOKEN) == 3

    lines, err = report(capsys, GuruSimulator.AUTHOR_TOKEN)
    assert lines[0].startswith(f"✓ credentials: user token of {GuruSimulator.AUTHOR_EMAIL}")
    assert lines[1].startswith("✗ list members: Guru denied access to /api/v1/members (HTTP 403)")
    assert lines[2].startswith("✗ list groups: Guru denied access to /api/v1/groups (HTTP 403)")
    assert "must be a Guru admin" in one_error(err)


def test_guru_collection_token_is_not_a_user_token(
    guru_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_guru(guru_url, monkeypatch, GuruSimulator.COLLECTION_ID, GuruSimulator.COLLECTION_TOKEN) == 3

    lines, err = report(capsys, GuruSimulator.COLLECTION_TOKEN)
    assert len(lines) == 1 and lines[0].startswith("✗ token type:")
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
    lines, _ = report(capsys, GuruSimulator.ADMIN_TOKEN)
    assert all(line.startswith("✓") for line in lines) and len(lines) == 3


# ---------------------------------------------------------------------------------------------- Gusto


def serve_gusto(gusto: GustoSimulator) -> Iterator[str]:
    with gusto.serve() as root:
        yield root


@pytest.fixture
def gusto() -> GustoSimulator:
    return GustoSimulator()


@pytest.fixture
def gusto_url(gusto: GustoSimulator) -> Iterator[str]:
    yield from serve_gusto(gusto)


def credentials_file(tmp_path: Path, gusto: GustoSimulator, **changes: str) -> Path:
    path = tmp_path / "gusto.json"
    path.write_text(json.dumps(gusto.issue_credentials() | changes))
    return path


def check_gusto(gusto_url: str, credentials: Path) -> int:
    return main(["check", "gusto", "--base-url", gusto_url, "--credentials", str(credentials)])


def secrets_of(path: Path) -> list[str]:
    stored = json.loads(path.read_text())
    return [CLIENT_SECRET, stored["refresh_token"], stored["access_token"]]


def test_gusto_good_connection_passes_without_a_refresh(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = credentials_file(tmp_path, gusto)

    assert check_gusto(gusto_url, credentials) == 0

    lines, err = report(capsys, *secrets_of(credentials))
    assert lines == [
        "✓ access token: still valid, no refresh needed",
        f"✓ company: {gusto.company_name} ({gusto.company_uuid})",
        f"✓ sync scopes: {SYNC_SCOPES.replace(' ', ', ')}",
        "✓ provisioning scopes: employees:manage, company_admin:write",
    ]
    assert err == "" and gusto.refresh_count == 0


def test_gusto_refreshes_a_due_token_and_stores_the_rotated_pair(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    credentials = credentials_file(tmp_path, gusto, access_token_expires_at=soon)
    before = secrets_of(credentials)

    assert check_gusto(gusto_url, credentials) == 0

    after = secrets_of(credentials)
    lines, _ = report(capsys, *before, *after)
    assert lines[0] == f"✓ access token: refreshed; the new tokens are stored in the file {credentials}"
    assert gusto.refresh_count == 1
    assert after[1] != before[1] and gusto.refresh_token_valid(after[1])
    assert not gusto.refresh_token_valid(before[1])


def test_gusto_revoked_connection_exits_4_and_says_reauthorise(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = credentials_file(tmp_path, gusto)
    gusto.revoke_all()  # the customer disconnected the app in Gusto

    assert check_gusto(gusto_url, credentials) == 4

    lines, err = report(capsys, *secrets_of(credentials))
    assert lines[0].startswith("✓ access token")  # still within its lifetime: only Gusto knows it is revoked
    assert lines[1].startswith("✗ company: ")
    line = one_error(err)
    assert "re-authorise the app with `access-sync connect gusto`" in line


def test_gusto_revoked_connection_due_for_refresh_exits_4(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = credentials_file(tmp_path, gusto, access_token="", access_token_expires_at="")
    gusto.revoke_all()

    assert check_gusto(gusto_url, credentials) == 4

    lines, err = report(capsys, *secrets_of(credentials)[:2])
    assert len(lines) == 1 and lines[0].startswith("✗ access token: The Gusto connection was revoked")
    assert "access-sync connect gusto" in one_error(err)


def test_gusto_wrong_client_secret_is_named(
    gusto: GustoSimulator, gusto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-the-client-secret-0000"
    credentials = credentials_file(tmp_path, gusto, client_secret=wrong, access_token="", access_token_expires_at="")

    assert check_gusto(gusto_url, credentials) == 3

    _, err = report(capsys, wrong, *secrets_of(credentials)[1:2])
    assert "rejected the app's client_id and client_secret (invalid_client)" in one_error(err)


@pytest.fixture
def under_privileged() -> Iterator[tuple[GustoSimulator, str]]:
    gusto = GustoSimulator(scopes="companies:read employees:read employees:manage")
    for root in serve_gusto(gusto):
        yield gusto, root


def test_gusto_lists_the_scopes_the_token_lacks(
    under_privileged: tuple[GustoSimulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gusto, root = under_privileged
    credentials = credentials_file(tmp_path, gusto)

    assert check_gusto(root, credentials) == 3

    lines, err = report(capsys, *secrets_of(credentials))
    assert lines[2] == (
        "✗ sync scopes: The token lacks contractors:read, company_admin:read, which a sync needs; Gusto assigns "
        "scopes to the app: ask for them in the Gusto Developer Portal, then run `access-sync connect gusto` again."
    )
    assert lines[3].startswith("⚠ provisioning scopes: The token lacks company_admin:write, so syncs work")
    assert "contractors:read, company_admin:read" in one_error(err)


def test_gusto_missing_provisioning_scopes_are_only_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gusto = GustoSimulator(scopes=SYNC_SCOPES)
    with gusto.serve() as root:
        credentials = credentials_file(tmp_path, gusto)
        assert check_gusto(root, credentials) == 0

    lines, err = report(capsys, *secrets_of(credentials))
    assert lines[2].startswith("✓ sync scopes")
    assert lines[3].startswith("⚠ provisioning scopes: The token lacks employees:manage, company_admin:write")
    assert err == ""


def test_gusto_credentials_from_secrets_manager(
    aws: None, gusto: GustoSimulator, gusto_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = gusto.issue_credentials()
    store_secret("access-sync/gusto", stored)

    assert main(["check", "gusto", "--base-url", gusto_url, "--secret-id", "access-sync/gusto"]) == 0
    lines, _ = report(capsys, CLIENT_SECRET, stored["refresh_token"], stored["access_token"])
    assert all(line.startswith("✓") for line in lines) and len(lines) == 4


def test_gusto_needs_to_know_where_the_credentials_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "gusto"]) == 2
    _, err = capsys.readouterr()
    assert "--credentials FILE or --secret-id ID" in one_error(err)
