"""The Gusto token manager keeps a rotating-refresh-token connection alive (docs/secrets.md)."""

from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from access_sync.connectors.gusto.connector import gusto_client as build_gusto_client
from access_sync.connectors.gusto.tokens import TokenManager, base_url_for
from access_sync.connectors.spec import Connection
from access_sync.errors import AccessSyncError, CredentialsError, ReauthorizationRequired
from access_sync.stores.lease import FileLease
from access_sync.stores.secrets import FileSecretStore, SecretsManagerStore
from access_sync_sim.gusto import GustoSimulator
from tests.gusto_support import (
    BASE_URL,
    FakeClock,
    Wire,
    assert_no_secrets,
    captured_logs,
    gusto_client,
    no_sleep,
    secrets_of,
    stored,
    token_manager,
    write_credentials,
)

REVOKED = (
    "The Gusto connection was revoked or its refresh token was already used; re-authorise the app with "
    "`access-sync connect gusto`, which stores a new refresh token in the file {path}."
)
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> GustoSimulator:
    return GustoSimulator(clock=clock)  # strict: a refresh token dies on first use


@pytest.fixture
def credentials(sim: GustoSimulator) -> dict[str, Any]:
    return sim.issue_credentials()


def test_the_environment_picks_the_host(tmp_path: Path, credentials: dict[str, Any]) -> None:
    assert base_url_for("production") == "https://api.gusto.com"
    assert base_url_for("demo") == "https://api.gusto-demo.com"
    assert base_url_for("demo", "http://127.0.0.1:9/") == "http://127.0.0.1:9"
    for environment, host in (("demo", "api.gusto-demo.com"), ("production", "api.gusto.com")):
        store = write_credentials(tmp_path / "gusto.json", {**credentials, "environment": environment})
        tokens = TokenManager(store, FileLease(tmp_path / "lock"))
        assert tokens.base_url == f"https://{host}"
        tokens.close()


@pytest.mark.parametrize(("seconds_left", "refreshes"), [(301, 0), (299, 1)])
def test_a_token_with_more_than_five_minutes_left_is_reused(
    tmp_path: Path,
    sim: GustoSimulator,
    clock: FakeClock,
    credentials: dict[str, Any],
    seconds_left: int,
    refreshes: int,
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials)
    clock.advance(sim.access_token_ttl - seconds_left)
    tokens = token_manager(store, sim.transport(), clock)
    token = tokens.access_token()
    assert sim.refresh_count == refreshes
    assert (token == credentials["access_token"]) is (refreshes == 0)


def test_the_new_pair_is_stored_before_the_new_access_token_is_used(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    seen: list[bool] = []

    class Checking(Wire):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path != "/oauth/token":
                token = request.headers["Authorization"].removeprefix("Bearer ")
                seen.append(json.loads(store.path.read_text())["access_token"] == token)
            return super().handle_request(request)

    wire = Checking(sim)
    client = gusto_client(token_manager(store, wire, clock), wire)
    assert client.company_uuid() == sim.company_uuid
    assert seen == [True]
    saved = stored(store)
    assert sim.refresh_token_valid(saved["refresh_token"])
    assert not sim.refresh_token_valid(credentials["refresh_token"])
    expires = datetime.fromisoformat(saved["access_token_expires_at"])
    assert expires == datetime.fromtimestamp(clock() + sim.access_token_ttl, UTC)


def test_a_401_triggers_one_refresh_and_one_retry(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    # The stored expiry says "valid for a day", but Gusto has already expired the token (clock skew, early expiry).
    clock.advance(sim.access_token_ttl + 1)
    store = write_credentials(
        tmp_path / "gusto.json",
        {**credentials, "access_token_expires_at": datetime.fromtimestamp(clock() + 86400, UTC).isoformat()},
    )
    wire = Wire(sim)
    client = gusto_client(token_manager(store, wire, clock), wire)
    assert client.company_uuid() == sim.company_uuid
    assert sim.refresh_count == 1
    assert wire.api_calls() == ["/v1/token_info", "/v1/token_info"]


def test_a_second_401_ends_the_call_instead_of_looping(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials)
    wire = Wire(sim, api_status=401)
    client = gusto_client(token_manager(store, wire, clock), wire)
    with pytest.raises(CredentialsError) as caught:
        client.token_info()
    assert "HTTP 401" in caught.value.message and "access-sync check gusto" in caught.value.message
    assert sim.refresh_count == 1
    assert len(wire.api_calls()) == 2


def test_short_lived_tokens_are_not_refreshed_on_every_use(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(clock=clock, access_token_ttl=60)
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials(), expired=True)
    tokens = token_manager(store, sim.transport(), clock)
    first = tokens.access_token()
    clock.advance(20)
    assert tokens.access_token() == first
    clock.advance(15)  # under half the 60 s lifetime left
    assert tokens.access_token() != first
    assert sim.refresh_count == 2


def test_a_pair_another_holder_already_stored_is_used(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    late = token_manager(store, sim.transport(), clock)  # read the expired pair, then was slow
    early = token_manager(store, sim.transport(), clock)
    token = early.access_token()
    assert late.access_token() == token
    assert sim.refresh_count == 1


def _run_threads(count: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except AccessSyncError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def assert_stored_token_still_works(store: FileSecretStore, sim: GustoSimulator, clock: FakeClock | None) -> None:
    saved = stored(store)
    assert sim.refresh_token_valid(saved["refresh_token"])
    write_credentials(store.path, saved, expired=True)
    before = sim.refresh_count
    tokens = token_manager(store, sim.transport(), clock or FakeClock())
    tokens.access_token()
    assert sim.refresh_count == before + 1


def test_many_threads_with_their_own_managers_refresh_once(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    managers = [token_manager(FileSecretStore(store.path), sim.transport(), clock) for _ in range(12)]
    clients = [gusto_client(tokens, sim.transport()) for tokens in managers]
    results = _run_threads(len(clients), lambda index: clients[index].company_uuid())
    assert results == [sim.company_uuid] * len(clients)
    assert sim.refresh_count == 1
    assert_stored_token_still_works(store, sim, clock)


def test_many_threads_sharing_one_manager_refresh_once(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    client = gusto_client(token_manager(store, sim.transport(), clock), sim.transport())
    results = _run_threads(16, lambda index: client.company_uuid())
    assert results == [sim.company_uuid] * 16
    assert sim.refresh_count == 1
    assert_stored_token_still_works(store, sim, clock)


def _use_gusto_in_a_process(credentials_path: str, base_url: str, barrier: Any, results: Any) -> None:
    client = build_gusto_client(Connection(FileSecretStore(credentials_path), base_url))
    try:
        barrier.wait(60)
        results.put(client.company_uuid())
    except AccessSyncError as exc:
        results.put(f"failed: {exc.message}")
    finally:
        client.close()


def test_many_processes_refresh_once(tmp_path: Path, credentials: dict[str, Any]) -> None:
    sim = GustoSimulator()  # real clock: the processes share the loopback server, not the test's clock
    store = write_credentials(tmp_path / "gusto.json", sim.issue_credentials(), expired=True)
    count = 6
    barrier, results = SPAWN.Barrier(count), SPAWN.Queue()
    with sim.serve() as url:
        processes = [
            SPAWN.Process(target=_use_gusto_in_a_process, args=(str(store.path), url, barrier, results))
            for _ in range(count)
        ]
        for process in processes:
            process.start()
        answers = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(30)
    assert answers == [sim.company_uuid] * count
    assert [process.exitcode for process in processes] == [0] * count
    assert sim.refresh_count == 1
    assert_stored_token_still_works(store, sim, None)


def test_a_revoked_connection_says_to_reauthorise(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    sim.revoke_all()
    tokens = token_manager(store, sim.transport(), clock)
    with pytest.raises(ReauthorizationRequired) as caught:
        tokens.access_token()
    assert caught.value.message == REVOKED.format(path=store.path)
    assert caught.value.exit_code == 4
    assert stored(store)["refresh_token"] == credentials["refresh_token"]  # nothing overwritten


def test_a_lost_refresh_answer_is_retried_with_the_same_refresh_token(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(clock=clock, grace_until_first_use=True)  # Gusto's documented rotation
    credentials = sim.issue_credentials()
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    wire = Wire(sim, lose_token_answers=1)
    client = gusto_client(token_manager(store, wire, clock), wire)
    assert client.company_uuid() == sim.company_uuid
    assert sim.refresh_count == 2  # the lost pair and the one we kept
    bodies = [request.content for request in wire.requests if request.url.path == "/oauth/token"]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert not sim.refresh_token_valid(credentials["refresh_token"])  # retired by the first use of the new pair
    assert_stored_token_still_works(store, sim, clock)


def test_a_lost_refresh_answer_that_cannot_be_retried_says_so(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    wire = Wire(sim, lose_token_answers=1)
    with pytest.raises(ReauthorizationRequired) as caught:
        token_manager(store, wire, clock).access_token()
    assert caught.value.message.startswith("A Gusto token refresh got no answer and Gusto refused the same")
    assert "re-authorise the app" in caught.value.message


def test_wrong_client_credentials_are_named(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", {**credentials, "client_secret": "wrong"}, expired=True)
    with pytest.raises(CredentialsError) as caught:
        token_manager(store, sim.transport(), clock).access_token()
    assert not isinstance(caught.value, ReauthorizationRequired)
    assert "client_id and client_secret" in caught.value.message


def test_the_refresh_is_a_form_post_that_keeps_the_secret_out_of_the_url(
    tmp_path: Path, sim: GustoSimulator, clock: FakeClock, credentials: dict[str, Any]
) -> None:
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    wire = Wire(sim)
    token_manager(store, wire, clock).access_token()
    (request,) = wire.requests
    assert request.method == "POST" and request.url.query == b""
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == credentials["refresh_token"]


def test_no_token_or_client_secret_reaches_logs_or_errors(tmp_path: Path, clock: FakeClock) -> None:
    sim = GustoSimulator(clock=clock, grace_until_first_use=True)
    credentials = sim.issue_credentials()
    store = write_credentials(tmp_path / "gusto.json", credentials, expired=True)
    wire = Wire(sim, lose_token_answers=1)
    client = gusto_client(token_manager(store, wire, clock), wire)
    messages = []
    with captured_logs() as logs:
        client.company_uuid()  # refresh with a lost answer
        clock.advance(sim.access_token_ttl + 1)
        client.company_uuid()  # proactive refresh
        sim.revoke_all()
        clock.advance(sim.access_token_ttl + 1)
        for failing in (client.company_uuid, gusto_client(token_manager(store, Wire(sim), clock), wire).token_info):
            with pytest.raises(AccessSyncError) as caught:
                failing()
            messages.append(f"{caught.value!s} {caught.value!r} {caught.value.__cause__!r}")
    assert "refreshing the Gusto access token" in logs.getvalue()  # the logs were captured at all
    assert_no_secrets(logs.getvalue() + " ".join(messages), secrets_of(credentials, wire))


def test_secrets_manager_holds_the_new_pair_and_the_cache_sees_it(aws: None, tmp_path: Path) -> None:
    sim = GustoSimulator()
    credentials = sim.issue_credentials()
    boto3.client("secretsmanager").create_secret(
        Name="gusto", SecretString=json.dumps({**credentials, "access_token_expires_at": ""})
    )
    store = SecretsManagerStore("gusto")
    tokens = TokenManager(
        store, FileLease(tmp_path / "lock"), base_url=BASE_URL, transport=sim.transport(), sleep=no_sleep
    )
    token = tokens.access_token()
    assert sim.refresh_count == 1
    raw = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId="gusto")["SecretString"])
    assert raw["access_token"] == token
    assert sim.refresh_token_valid(raw["refresh_token"])
    assert store.read()["refresh_token"] == raw["refresh_token"]  # the cached read shows our own write
