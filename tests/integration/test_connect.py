"""`access-sync connect gusto` end to end: the real CLI, the Gusto simulator on a loopback port, a test playing
the browser (it follows the authorize URL's 302 and delivers the redirect to the CLI's loopback listener), and
the result stored in a file or in Secrets Manager (moto).
"""

from __future__ import annotations

import builtins
import getpass
import json
import socket
import stat
import time
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import httpx
import pytest

from access_sync.cli.main import main
from access_sync_sim.gusto import CLIENT_ID, CLIENT_SECRET, GustoSimulator
from tests.gusto_support import FakeClock, assert_no_secrets, secrets_of
from tests.integration.conftest import store_secret

SECRET_ID = "access-sync/gusto"
STORED_FIELDS = {
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "access_token_expires_at",
    "environment",
}


class PlayingBrowser:
    """Stands in for the user's browser: opens the authorize URL (the simulator approves at once, answering
    302 to the redirect URI) and then follows that redirect to the CLI's loopback listener.

    `meddle` may rewrite the redirect URL before it is delivered, or act on it (e.g. spend the code first).
    """

    def __init__(self) -> None:
        self.meddle: Callable[[str], str] = lambda location: location
        self.opened: list[str] = []
        self.codes: list[str] = []
        self.page: httpx.Response | None = None

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        consent = httpx.get(url)
        assert consent.status_code == 302, consent.text
        location = consent.headers["Location"]
        self.codes += parse_qs(urlsplit(location).query).get("code", [])
        self.page = httpx.get(self.meddle(location))
        return True


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())  # our side expires tokens by the real clock


@pytest.fixture
def gusto(clock: FakeClock) -> GustoSimulator:
    return GustoSimulator(clock=clock)


@pytest.fixture
def root(gusto: GustoSimulator) -> Iterator[str]:
    with gusto.serve() as url:
        yield url


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> PlayingBrowser:
    player = PlayingBrowser()
    monkeypatch.setattr(webbrowser, "get", lambda using=None: player)
    return player


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GUSTO_BASE_URL", "IDEMPOTENCY_TABLE"):
        monkeypatch.delenv(name, raising=False)


def connect(root: str, *options: str, secret: str = CLIENT_SECRET) -> int:
    return main(
        [
            "connect",
            "gusto",
            "--environment",
            "demo",
            "--base-url",
            root,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            secret,
            "--port",
            "0",
            "--timeout",
            "10",
            *options,
        ]
    )


def error_line(capsys: pytest.CaptureFixture[str], *secrets: str) -> tuple[str, str]:
    """stdout and the one stderr line; asserts that neither shows the client secret or any of `secrets`."""
    out, err = capsys.readouterr()
    assert_no_secrets(out + err, {CLIENT_SECRET, *secrets})
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("access-sync: error: "), err
    return out, lines[0]


def secret_value(secret_id: str) -> dict[str, str]:
    value: dict[str, str] = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    )
    return value


# ---------------------------------------------------------------------------------------------- success


def test_connect_stores_a_working_connection_in_a_file(
    root: str, gusto: GustoSimulator, browser: PlayingBrowser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = tmp_path / "gusto.json"

    assert connect(root, "--credentials", str(credentials)) == 0

    out, err = capsys.readouterr()
    stored = json.loads(credentials.read_text())
    assert set(stored) == STORED_FIELDS
    assert stored["client_id"] == CLIENT_ID and stored["client_secret"] == CLIENT_SECRET
    assert stored["environment"] == "demo"
    assert gusto.refresh_token_valid(stored["refresh_token"])
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    # The authorize URL carried a random state and the redirect URI that the terminal told the user to register.
    (url,) = browser.opened
    query = parse_qs(urlsplit(url).query)
    redirect_uri = query["redirect_uri"][0]
    assert redirect_uri.startswith("http://127.0.0.1:") and redirect_uri.endswith("/callback")
    assert query["response_type"] == ["code"] and len(query["state"][0]) >= 32
    assert f"Redirect URI (register it in your Gusto app): {redirect_uri}" in out
    assert browser.page is not None and browser.page.status_code == 200
    assert "close this tab" in browser.page.text
    assert f"in the file {credentials}" in out
    assert f"✓ company: {gusto.company_name} ({gusto.company_uuid})" in out
    assert err == ""
    assert_no_secrets(out + err + browser.page.text, secrets_of(stored))
    assert browser.codes[0] not in out + err

    # The stored connection is the one `check` and `sync` use.
    assert main(["check", "gusto", "--base-url", root, "--credentials", str(credentials)]) == 0
    out_dir = tmp_path / "data"
    assert main(["sync", "gusto", "--base-url", root, "--credentials", str(credentials), "--out", str(out_dir)]) == 0
    out, err = capsys.readouterr()
    assert "gusto sync" in out and "complete" in out
    assert_no_secrets(out + err, secrets_of(stored) | secrets_of(json.loads(credentials.read_text())))


def test_connect_stores_into_secrets_manager(
    aws: None, root: str, gusto: GustoSimulator, browser: PlayingBrowser, capsys: pytest.CaptureFixture[str]
) -> None:
    # `sam deploy` creates the secret with a placeholder; connect replaces its value.
    store_secret(SECRET_ID, {"placeholder": "run access-sync connect gusto"})

    assert connect(root, "--secret-id", SECRET_ID) == 0

    out, err = capsys.readouterr()
    stored = secret_value(SECRET_ID)
    assert set(stored) == STORED_FIELDS and stored["environment"] == "demo"
    assert gusto.refresh_token_valid(stored["refresh_token"])
    assert f"in the secret {SECRET_ID}" in out
    assert f"✓ company: {gusto.company_name}" in out
    assert_no_secrets(out + err, secrets_of(stored))

    assert main(["check", "gusto", "--base-url", root, "--secret-id", SECRET_ID]) == 0


def test_connect_creates_the_secret_when_it_does_not_exist_yet(
    aws: None, root: str, gusto: GustoSimulator, browser: PlayingBrowser
) -> None:
    assert connect(root, "--secret-id", SECRET_ID) == 0
    assert gusto.refresh_token_valid(secret_value(SECRET_ID)["refresh_token"])


def test_connect_asks_for_the_client_id_and_hides_the_secret(
    root: str,
    browser: PlayingBrowser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asked: list[tuple[str, str]] = []

    def ask(kind: str, answer: str) -> Callable[[str], str]:
        def prompt(text: str = "") -> str:
            asked.append((kind, text))
            return answer

        return prompt

    monkeypatch.setattr(builtins, "input", ask("input", CLIENT_ID))
    monkeypatch.setattr(getpass, "getpass", ask("getpass", CLIENT_SECRET))
    credentials = tmp_path / "gusto.json"

    code = main(
        [
            "connect",
            "gusto",
            "--environment",
            "demo",
            "--base-url",
            root,
            "--port",
            "0",
            "--credentials",
            str(credentials),
        ]
    )

    assert code == 0
    assert asked == [("input", "Gusto app client id: "), ("getpass", "Gusto app client secret: ")]
    stored = json.loads(credentials.read_text())
    assert stored["client_id"] == CLIENT_ID and stored["client_secret"] == CLIENT_SECRET
    out, err = capsys.readouterr()
    assert_no_secrets(out + err, secrets_of(stored))


def test_other_requests_to_the_listener_do_not_end_the_wait(root: str, browser: PlayingBrowser, tmp_path: Path) -> None:
    stray: list[httpx.Response] = []

    def ask_for_a_favicon_first(location: str) -> str:
        stray.append(httpx.get(location.split("/callback", 1)[0] + "/favicon.ico"))
        return location

    browser.meddle = ask_for_a_favicon_first

    assert connect(root, "--credentials", str(tmp_path / "gusto.json")) == 0
    assert stray[0].status_code == 404
    assert (tmp_path / "gusto.json").exists()


# ---------------------------------------------------------------------------------------------- failures


def test_a_wrong_state_is_refused_and_nothing_is_stored(
    root: str, browser: PlayingBrowser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def forge_state(location: str) -> str:
        url = urlsplit(location)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        return url._replace(query=urlencode({**query, "state": "forged-by-someone-else"})).geturl()

    browser.meddle = forge_state
    credentials = tmp_path / "gusto.json"

    assert connect(root, "--credentials", str(credentials)) == 3

    _, line = error_line(capsys, *browser.codes)
    assert "did not carry the state value this run sent" in line and "nothing was stored" in line
    assert not credentials.exists()
    assert browser.page is not None and browser.page.status_code == 400
    assert "state value" in browser.page.text


def test_a_code_used_before_is_refused_and_nothing_is_stored(
    root: str, gusto: GustoSimulator, browser: PlayingBrowser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def spend_code_first(location: str) -> str:
        query = parse_qs(urlsplit(location).query)
        redirect_uri = location.split("?", 1)[0]
        form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "authorization_code"}
        form |= {"code": query["code"][0], "redirect_uri": redirect_uri}
        assert httpx.post(f"{root}/oauth/token", data=form).status_code == 200
        return location

    browser.meddle = spend_code_first
    credentials = tmp_path / "gusto.json"

    assert connect(root, "--credentials", str(credentials)) == 3

    _, line = error_line(capsys, *browser.codes)
    assert "Gusto refused the authorization code" in line and "works only once" in line
    assert "nothing was stored" in line
    assert not credentials.exists()


def test_a_code_older_than_ten_minutes_is_refused(
    root: str, clock: FakeClock, browser: PlayingBrowser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def wait_eleven_minutes(location: str) -> str:
        clock.advance(660)
        return location

    browser.meddle = wait_eleven_minutes
    credentials = tmp_path / "gusto.json"

    assert connect(root, "--credentials", str(credentials)) == 3

    _, line = error_line(capsys)
    assert "expires after 10 minutes" in line
    assert not credentials.exists()


def test_nobody_answering_times_out_and_nothing_is_stored(
    root: str, browser: PlayingBrowser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = tmp_path / "gusto.json"

    code = connect(root, "--credentials", str(credentials), "--no-browser", "--timeout", "0.2")

    assert code == 3
    out, line = error_line(capsys)
    assert "Nobody completed Gusto's consent page within 0.2 s, so nothing was stored" in line
    assert "Open that link in a browser." in out and "/oauth/authorize?" in out
    assert browser.opened == []  # --no-browser
    assert not credentials.exists()


def test_denied_consent_stores_nothing(
    aws: None, root: str, gusto: GustoSimulator, browser: PlayingBrowser, capsys: pytest.CaptureFixture[str]
) -> None:
    gusto.deny_consent = True

    assert connect(root, "--secret-id", SECRET_ID) == 3

    _, line = error_line(capsys)
    assert "Access was denied on Gusto's consent page, so nothing was stored" in line
    assert "access_denied" not in line
    secrets = boto3.client("secretsmanager").list_secrets()["SecretList"]
    assert secrets == []
    assert browser.page is not None and browser.page.status_code == 400


def test_a_wrong_client_secret_is_named_and_nothing_is_stored(
    root: str, browser: PlayingBrowser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = tmp_path / "gusto.json"
    wrong = "not-the-client-secret-0000"

    assert connect(root, "--credentials", str(credentials), secret=wrong) == 3

    _, line = error_line(capsys, wrong)
    assert "rejected the client id and client secret (invalid_client)" in line
    assert not credentials.exists()


def test_connect_needs_somewhere_to_store(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert connect(root) == 2
    _, line = error_line(capsys)
    assert "--credentials FILE or --secret-id ID" in line


def test_a_busy_port_is_reported_before_anything_happens(
    root: str, browser: PlayingBrowser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = connect(root, "--credentials", str(tmp_path / "gusto.json"), "--port", str(port))

    assert code == 2
    _, line = error_line(capsys)
    assert f"Cannot listen on 127.0.0.1:{port}" in line and "--port" in line
    assert browser.opened == []
