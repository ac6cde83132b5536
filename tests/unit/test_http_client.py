"""The retry policy every upstream call shares: what is retried, how long we wait, what a user reads."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from access_sync.errors import TransientError, UpstreamError
from access_sync.http.client import ApiClient
from access_sync.http.limits import AdaptiveConcurrency


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
