"""ApiClient: one httpx.Client per upstream with retries, limits, a request counter and host pinning.

- 429, 502, 503, 504 and connection failures are retried with exponential backoff and jitter, honouring
  `Retry-After`; a request that may already have reached the server (read timeout, dropped reply, 500)
  is retried only when it is idempotent, so a POST is never sent twice by accident.
- Links taken from responses (Guru's Link header) are always sent to the base URL's host, so a forged
  link cannot carry our credentials elsewhere.
- Error messages name the service, method, path and status, never headers, bodies or query secrets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from access_sync.errors import AccessSyncError, AmbiguousWriteError, TransientError, UpstreamError
from access_sync.http.limits import AdaptiveConcurrency, RateWindow
from access_sync.observability import logger

# httpx logs every request URL at INFO; our own log lines say what matters.
logging.getLogger("httpx").setLevel(logging.WARNING)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)

ErrorMapper = Callable[[httpx.Response], AccessSyncError]


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date); None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def default_error(service: str) -> ErrorMapper:
    def describe(response: httpx.Response) -> AccessSyncError:
        request = response.request
        return UpstreamError(
            f"{service} answered {response.status_code} to {request.method} {request.url.path}.",
            status=response.status_code,
        )

    return describe


class ApiClient:
    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 8,
        max_retry_seconds: float = 300.0,
        rate: RateWindow | None = None,
        concurrency: AdaptiveConcurrency | None = None,
        error_mapper: ErrorMapper | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self._origin = httpx.URL(self.base_url).copy_with(raw_path=b"/", fragment=None)
        self._host = self._origin.host
        self._http = httpx.Client(
            auth=auth,
            headers={"Accept": "application/json", "User-Agent": "access-sync/0.1", **(headers or {})},
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.rate = rate
        self.concurrency = concurrency
        self.error_mapper = error_mapper or default_error(service)
        self._sleep = sleep
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self._http.close()

    def url(self, path_or_url: str) -> str:
        """Resolves a path or a link from a response against the base URL.

        A link to another host (a proxy's name for the service, or a forged header) keeps its path and
        query but is sent to our own host, so credentials never go anywhere else.
        """
        if path_or_url.startswith(("http://", "https://")):
            link = httpx.URL(path_or_url)
            if link.host == self._host:
                return path_or_url
            logger.warning("link to another host re-targeted at the base URL", extra={"service": self.service})
            return str(self._origin.copy_with(raw_path=link.raw_path))
        if path_or_url.startswith("/"):
            return str(self._origin.copy_with(raw_path=path_or_url.encode()))
        return f"{self.base_url}/{path_or_url}"

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        ok: tuple[int, ...] = (200,),
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Sends with retries; returns responses whose status is in `ok`, raises a mapped error otherwise."""
        url = self.url(path_or_url)
        idempotent = method.upper() in IDEMPOTENT_METHODS
        started = time.monotonic()

        def attempt() -> httpx.Response:
            return self._attempt(
                method, url, idempotent, params=params, json=json, data=data, headers=headers, auth=auth
            )

        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_retry_seconds),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except _Retry as exc:
            elapsed = time.monotonic() - started
            raise TransientError(
                f"{self.service} still failed after {self.max_attempts} attempts over {elapsed:.0f} s "
                f"({exc.reason} on {method} {httpx.URL(url).path}); try again later."
            ) from None
        if response.status_code not in ok:
            raise self.error_mapper(response)
        return response

    def _attempt(self, method: str, url: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        if self.rate:
            self.rate.acquire()
        if self.concurrency:
            self.concurrency.acquire()
        throttled = False
        try:
            with self._lock:
                self.requests += 1
            try:
                response = self._http.request(method, url, **{k: v for k, v in kwargs.items() if v is not None})
            except _NOT_SENT as exc:
                raise _Retry(type(exc).__name__) from None
            except _MAYBE_SENT as exc:
                if idempotent:
                    raise _Retry(type(exc).__name__) from None
                raise AmbiguousWriteError(
                    f"{self.service} did not answer {method} {httpx.URL(url).path} ({type(exc).__name__}); "
                    "the change may or may not have been made."
                ) from None
            status = response.status_code
            throttled = status == 429
            if status in RETRYABLE_STATUSES or (status >= 500 and idempotent):
                retry_after = retry_after_seconds(response)
                response.close()
                raise _Retry(f"HTTP {status}", retry_after)
            return response
        finally:
            if self.concurrency:
                self.concurrency.release(throttled=throttled)

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = wait_random_exponential(multiplier=0.5, max=30)(state)
        if isinstance(error, _Retry) and error.retry_after is not None:
            return min(error.retry_after, 120.0)
        return float(backoff)

    def _log_retry(self, state: RetryCallState) -> None:
        with self._lock:
            self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        logger.info(
            "retrying upstream request",
            extra={"service": self.service, "reason": str(error), "attempt": state.attempt_number},
        )
