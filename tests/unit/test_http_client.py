"""The retry policy every upstream call shares: what is retried, how long we wait, what a user reads."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
import pytest

from access_sync.errors import ConfigurationError, TransientError, UnreachableError, UpstreamError
from access_sync.http.client import UNREACHABLE_RETRY_SECONDS, ApiClient
from access_sync.http.limits import AdaptiveConcurrency, RateWindow


def scripted(*steps: int | type[Exception]) -> tuple[Callable[[httpx.Request], httpx.Response], list[str]]:
    calls: list[str] = []
    queue = list(steps)

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        step = queue.pop(0) if queue else 200
        if isinstance(step, type):
            raise step("boom", request=request)  # type: ignore[call-arg]
        headers = {"Retry-After": "7"} if step == 429 else {}
        return httpx.Response(step, json={}, headers=headers)

    return answer, calls


def make_client(answer: Callable[[httpx.Request], httpx.Response], waits: list[float], **options: object) -> ApiClient:
    return ApiClient(
        "Svc",
        "https://svc.test/api",
        transport=httpx.MockTransport(answer),
        sleep=waits.append,
        **options,  # type: ignore[arg-type]
    )


def test_429_waits_as_long_as_retry_after_says_then_succeeds() -> None:
    answer, calls = scripted(429, 200)
    waits: list[float] = []
    response = make_client(answer, waits).send("GET", "things")
    assert response.status_code == 200 and len(calls) == 2 and waits == [7.0]


def test_5xx_and_dropped_connections_are_retried_for_reads() -> None:
    answer, _ = scripted(503, 500, httpx.RemoteProtocolError, httpx.ConnectError, 200)
    client = make_client(answer, [])
    assert client.send("GET", "things").status_code == 200
    assert client.requests == 5 and client.retries == 4


def test_a_post_whose_reply_was_lost_is_not_sent_again() -> None:
    answer, calls = scripted(httpx.ReadTimeout)
    with pytest.raises(TransientError, match="may or may not have been made"):
        make_client(answer, []).send("POST", "things", json={})
    assert calls == ["POST"]


def test_a_post_refused_with_503_or_429_is_retried() -> None:
    answer, calls = scripted(503, 429, 200)
    assert make_client(answer, []).send("POST", "things", json={}).status_code == 200
    assert calls == ["POST"] * 3


def test_giving_up_says_what_failed_and_to_try_later() -> None:
    answer, _ = scripted(*([503] * 10))
    with pytest.raises(TransientError) as caught:
        make_client(answer, [], max_attempts=3).send("GET", "things?token=secret")
    assert "after 3 attempts" in caught.value.message and "503" in caught.value.message
    assert "secret" not in caught.value.message


def test_other_errors_are_not_retried_and_are_mapped() -> None:
    answer, calls = scripted(404)
    with pytest.raises(UpstreamError, match="404"):
        make_client(answer, []).send("GET", "things")
    assert len(calls) == 1


def test_adaptive_concurrency_halves_on_throttling_and_recovers() -> None:
    now = [0.0]
    limiter = AdaptiveConcurrency(16, cooldown=1.0, clock=lambda: now[0])
    for _ in range(3):  # one burst of 429s is one signal
        limiter.acquire()
        limiter.release(throttled=True)
    assert limiter.limit == 8
    now[0] = 5.0
    limiter.acquire()
    limiter.release(throttled=True)
    assert limiter.limit == 4
    for _ in range(4 + 5 + 6 + 7):
        limiter.acquire()
        limiter.release()
    assert limiter.limit == 8


# ---------------------------------------------------------------------- hosts that cannot be reached at all


def refusing(calls: list[str], answer_first: bool = False) -> Callable[[httpx.Request], httpx.Response]:
    """Connections refused (the way the OS says it), after one answer when `answer_first`."""

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if answer_first and len(calls) == 1:
            return httpx.Response(200, json={})
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as exc:
            raise httpx.ConnectError("refused", request=request) from exc

    return answer


def test_a_host_never_reached_that_refuses_gets_one_quick_retry_then_exit_7_naming_it() -> None:
    calls: list[str] = []
    waits: list[float] = []
    with pytest.raises(UnreachableError) as caught:
        make_client(refusing(calls), waits).send("GET", "things")
    assert caught.value.exit_code == 7
    assert caught.value.message == (
        "Cannot reach Svc at svc.test: nothing accepts connections on port 443; check the port in the base URL "
        "and that the service is running."
    )
    assert len(calls) == 2 and waits == [UNREACHABLE_RETRY_SECONDS]


def test_a_host_that_answered_before_keeps_the_full_retries_for_a_refused_connection() -> None:
    calls: list[str] = []
    client = make_client(refusing(calls, answer_first=True), [], max_attempts=4)
    client.send("GET", "things")
    with pytest.raises(TransientError, match="still failed after 4 attempts"):
        client.send("GET", "things")
    assert len(calls) == 5


def test_a_base_url_without_a_scheme_is_refused_at_once() -> None:
    with pytest.raises(ConfigurationError, match="must start with https:// or http://"):
        ApiClient("Svc", "svc.test/api")


def test_an_answer_that_is_not_json_says_the_base_url_is_not_the_service() -> None:
    client = make_client(lambda request: httpx.Response(200, text="<html>hello</html>"), [])
    with pytest.raises(ConfigurationError) as caught:
        client.json(client.send("GET", "things"))
    assert "something other than JSON; check that https://svc.test/api is Svc's API" in caught.value.message


# ---------------------------------------------------------------------- waits a person should see


def test_a_retry_after_on_429_is_announced_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    notices: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        first = not notices and not caplog.records
        return httpx.Response(429, headers={"Retry-After": "38"}) if first else httpx.Response(200, json={})

    client = make_client(answer, [], on_wait=notices.append)
    with caplog.at_level("INFO"):
        assert client.send("GET", "things").status_code == 200
    assert notices == ["waiting 38 s for Svc's rate limit"]
    assert "waiting 38 s for Svc's rate limit" in caplog.text


def test_the_rate_window_says_how_long_a_request_waits_for_it() -> None:
    window = RateWindow(1, 0.3)
    told: list[float] = []
    window.acquire(on_wait=told.append)
    window.acquire(on_wait=told.append)
    assert len(told) == 1 and told[0] == pytest.approx(0.3, abs=0.05)


def test_the_ca_certificates_load_once_per_process_and_before_the_first_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading them takes tens of milliseconds: not inside a sync's first request, and not again in a warm Lambda."""
    from access_sync.http import client as module

    loaded: list[ssl.SSLContext] = []
    real = httpx.create_ssl_context

    def counted() -> ssl.SSLContext:
        loaded.append(real())
        return loaded[-1]

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    module._trusted.cache_clear()
    try:
        first = ApiClient("Svc", "https://svc.test/api")
        assert len(loaded) == 1  # when the client was built, before any request
        second = ApiClient("Other", "https://other.test/api")
        assert len(loaded) == 1
        first.close()
        second.close()
    finally:
        module._trusted.cache_clear()  # the next test's clients load the real ones
