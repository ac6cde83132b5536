"""What the Gusto tests share: a fake clock, credentials files, and a wire that watches (and can break) traffic."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from access_sync.connectors.gusto.client import GustoClient
from access_sync.connectors.gusto.tokens import TokenManager
from access_sync.observability import logger
from access_sync.stores.lease import FileLease
from access_sync.stores.secrets import FileSecretStore, SecretStore
from access_sync_sim.gusto import CLIENT_SECRET, GustoSimulator

START = 1_800_000_000.0
BASE_URL = "http://gusto.test"
EXPIRED = "2000-01-01T00:00:00+00:00"


def no_sleep(seconds: float) -> None:
    """Retries and lease polls in tests wait for nothing."""


class FakeClock:
    """Epoch seconds that move only when a test (or the wire) says so; thread-safe."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    sleep = advance  # code under test that waits moves the clock instead


def write_credentials(path: Path, credentials: dict[str, Any], *, expired: bool = False) -> FileSecretStore:
    """A credentials file as `access-sync connect gusto` leaves it; `expired` makes the next use refresh."""
    stored = dict(credentials)
    if expired:
        stored["access_token_expires_at"] = EXPIRED
    path.write_text(json.dumps(stored))
    return FileSecretStore(path)


def stored(store: SecretStore) -> dict[str, Any]:
    return store.read(fresh=True)


class Wire(httpx.BaseTransport):
    """Wraps a simulator's transport: records traffic and every token Gusto hands out.

    `lose_token_answers` answers that many token requests' responses with a ReadTimeout *after* Gusto
    processed them (a lost answer); `advance_per_request` moves `clock` on every API request (a long sync);
    `api_status` answers every API request with that status instead of asking the simulator.
    """

    def __init__(
        self,
        sim: GustoSimulator,
        *,
        lose_token_answers: int = 0,
        clock: FakeClock | None = None,
        advance_per_request: float = 0.0,
        api_status: int | None = None,
    ) -> None:
        self.inner = sim.transport()
        self.lose_token_answers = lose_token_answers
        self.clock = clock
        self.advance_per_request = advance_per_request
        self.api_status = api_status
        self.requests: list[httpx.Request] = []
        self.issued: set[str] = set()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if request.url.path == "/oauth/token":
            return self._token(request)
        if self.api_status is not None:
            return httpx.Response(self.api_status, json={"errors": []})
        response = self.inner.handle_request(request)
        if self.clock is not None:
            self.clock.advance(self.advance_per_request)  # the time this request took
        return response

    def _token(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = json.loads(response.read())
        with self._lock:
            self.issued.update(body[key] for key in ("access_token", "refresh_token") if key in body)
            lose = self.lose_token_answers > 0
            self.lose_token_answers -= int(lose)
        if lose:
            raise httpx.ReadTimeout("simulated lost answer", request=request)
        return response

    def api_calls(self) -> list[str]:
        """Path and query of each API request, in order."""
        return [request.url.raw_path.decode() for request in self.requests if request.url.path != "/oauth/token"]


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line as Powertools writes it (JSON with all extra keys), whatever stream it was bound to."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def secrets_of(credentials: dict[str, Any], wire: Wire | None = None) -> set[str]:
    """Every secret a test run could leak: the first pair, every issued token, the client secret."""
    found = {credentials["refresh_token"], credentials["access_token"], CLIENT_SECRET}
    return found | (wire.issued if wire else set())


def assert_no_secrets(text: str, secrets: set[str]) -> None:
    leaked = [secret[:6] + "…" for secret in secrets if secret and secret in text]
    assert not leaked, f"secrets leaked: {leaked}"


def token_manager(
    store: FileSecretStore,
    transport: httpx.BaseTransport,
    clock: Callable[[], float] = time.time,
) -> TokenManager:
    return TokenManager(
        store,
        FileLease(store.path.with_name(store.path.name + ".lock"), poll=0.001),
        base_url=BASE_URL,
        transport=transport,
        clock=clock,
        sleep=no_sleep,
    )


def gusto_client(tokens: TokenManager, transport: httpx.BaseTransport, **options: Any) -> GustoClient:
    """`options` go to ApiClient (max_attempts, sleep, …); retries sleep for nothing unless told otherwise."""
    return GustoClient(tokens, transport=transport, **{"sleep": no_sleep, **options})
