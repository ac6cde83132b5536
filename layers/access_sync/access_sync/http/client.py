"""ApiClient: one httpx.Client per upstream with retries, limits, a request counter and host pinning.

- 429, 502, 503, 504 and connection failures are retried with exponential backoff and jitter, honouring
  `Retry-After`; a request that may already have reached the server (read timeout, dropped reply, 500)
  is retried only when it is idempotent, so a POST is never sent twice by accident.
- A host that has not answered once yet and cannot be reached at all (its name does not resolve, nothing
  listens, TLS fails) gets one quick retry, then UnreachableError naming the host and the likely fix: a
  wrong base URL should not take a minute of backoff to report.
- Waits (a `Retry-After`, our own rate limit) are logged and reported to `on_wait`, for a progress display.
- Links taken from responses (Guru's Link header) are always sent to the base URL's host, so a forged
  link cannot carry our credentials elsewhere.
- Error messages name the service, method, path and status, never headers, bodies or query secrets.
"""

from __future__ import annotations

import errno
import functools
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from access_sync.errors import (
    AccessSyncError,
    AmbiguousWriteError,
    ConfigurationError,
    TransientError,
    UnreachableError,
    UpstreamError,
)
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

# A host not reached yet gets this many attempts, this far apart, before UnreachableError.
UNREACHABLE_ATTEMPTS = 2
UNREACHABLE_RETRY_SECONDS = 0.5
# Waits shorter than this are not worth showing a person.
NOTICEABLE_WAIT_SECONDS = 2.0

ErrorMapper = Callable[[httpx.Response], AccessSyncError]
# Told, before a wait for a rate limit or a Retry-After, what it is: "waiting 38 s for Gusto's rate limit".
WaitObserver = Callable[[str], None]


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Unreachable(_Retry):
    """A connection failure that says the host cannot be reached at all: what happened and the likely fix."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what)
        self.fix = fix


def _root_cause(exc: BaseException) -> BaseException:
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    return exc


def unreachable(exc: BaseException, url: httpx.URL) -> _Unreachable | None:
    """What a connection failure says about the host, when it says it cannot be reached at all."""
    cause = _root_cause(exc)
    port = url.port or (443 if url.scheme == "https" else 80)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return _Unreachable(
            f"its TLS certificate is not trusted ({cause.verify_message})",
            "check the host name in the base URL, or point SSL_CERT_FILE at your CA bundle",
        )
    if isinstance(cause, ssl.SSLError):
        return _Unreachable(
            f"the TLS handshake on port {port} failed ({cause.reason or 'no reason given'})",
            "if it serves plain HTTP (a local simulator, say), start the base URL with http://",
        )
    if isinstance(cause, socket.gaierror):
        return _Unreachable("its name does not resolve", "check the host name in the base URL")
    if isinstance(cause, ConnectionRefusedError):
        return _Unreachable(
            f"nothing accepts connections on port {port}",
            "check the port in the base URL and that the service is running",
        )
    if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return _Unreachable("there is no network route to it", "check the host in the base URL and this network")
    return None


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
        on_wait: WaitObserver | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        if not self.base_url.startswith(("https://", "http://")):
            raise ConfigurationError(f"The {service} base URL {base_url} must start with https:// or http://.")
        self._origin = httpx.URL(self.base_url).copy_with(raw_path=b"/", fragment=None)
        self._host = self._origin.host
        self._client_options: dict[str, Any] = {
            "auth": auth,
            "headers": {"Accept": "application/json", "User-Agent": "access-sync/0.1", **(headers or {})},
            "transport": transport,
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            "follow_redirects": False,
        }
        self._idle: queue.SimpleQueue[httpx.Client] = queue.SimpleQueue()
        self._clients: list[httpx.Client] = []
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.rate = rate
        self.concurrency = concurrency
        self.error_mapper = error_mapper or default_error(service)
        self._sleep = sleep
        self._on_wait = on_wait
        self._lock = threading.Lock()
        self._reached = False  # an answer came back at least once: connection failures are then retried in full
        self.requests = 0
        self.retries = 0
        # The first client costs what every later one is spared (httpcore's import, the CA certificates):
        # paid here, while the connector is set up, rather than inside the first request of a sync.
        self._idle.put(self._new_client())

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def _checkout(self) -> httpx.Client:
        """A client of its own for one request, kept alive for the next. One pool shared by every thread costs more
        CPU than the requests: httpcore looks at every connection for every queued request, under one lock; a
        client used by one request at a time holds the one connection it keeps alive."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._new_client()

    def _new_client(self) -> httpx.Client:
        verify = _trusted() if self._client_options["transport"] is None else True
        client = httpx.Client(**self._client_options, verify=verify)
        with self._lock:
            self._clients.append(client)
        return client

    def url(self, path_or_url: str) -> httpx.URL:
        """Resolves a path or a link from a response against the base URL, parsed once (httpx's URL parsing is
        a good part of a request's CPU time when the links carry long paging tokens).

        A link to another host (a proxy's name for the service, or a forged header) keeps its path and
        query but is sent to our own host, so credentials never go anywhere else.
        """
        if path_or_url.startswith(("http://", "https://")):
            link = httpx.URL(path_or_url)
            if link.host == self._host:
                return link
            logger.warning("link to another host re-targeted at the base URL", extra={"service": self.service})
            return self._origin.copy_with(raw_path=link.raw_path)
        if path_or_url.startswith("/"):
            return self._origin.copy_with(raw_path=path_or_url.encode())
        return httpx.URL(f"{self.base_url}/{path_or_url}")

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
        unread: bool = False,
        on_sent: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """Sends with retries; returns responses whose status is in `ok`, raises a mapped error otherwise.

        `unread`: an answer in `ok` comes back as soon as its headers have arrived, its body still on the
        connection, so a paging caller can send the next request (named in the headers) first. The caller
        reads it (`response.read()`, which may raise httpx.TransportError) or closes it.
        `on_sent` runs on this thread once the request is on the wire (each attempt's), before its answer.
        """
        url = self.url(path_or_url)
        idempotent = method.upper() in IDEMPOTENT_METHODS
        started = time.monotonic()

        def attempt() -> httpx.Response:
            return self._attempt(
                method,
                url,
                idempotent,
                unread,
                params=params,
                json=json,
                data=data,
                headers=headers,
                auth=auth,
                extensions=_sent_trace(on_sent) if on_sent else None,
            )

        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_retry_seconds) | _GaveUpOnHost(),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except _Unreachable as exc:
            host = url.host
            raise UnreachableError(f"Cannot reach {self.service} at {host}: {exc.reason}; {exc.fix}.") from None
        except _Retry as exc:
            elapsed = time.monotonic() - started
            raise TransientError(
                f"{self.service} still failed after {self.max_attempts} attempts over {elapsed:.0f} s "
                f"({exc.reason} on {method} {url.path}); try again later."
            ) from None
        if response.status_code not in ok:
            response.read()  # an unread error answer: the message is in its body
            raise self.error_mapper(response)
        return response

    def json(self, response: httpx.Response) -> Any:
        """The response's JSON; an answer that is not JSON means the base URL is not this service's API.

        orjson reads a page of records in about half the time the standard library or pydantic's parser takes.
        """
        try:
            return orjson.loads(response.content)
        except ValueError:
            request = response.request
            raise ConfigurationError(
                f"{self.service} answered {request.method} {request.url.path} with something other than JSON; "
                f"check that {self.base_url} is {self.service}'s API."
            ) from None

    def _attempt(self, method: str, url: httpx.URL, idempotent: bool, unread: bool, **kwargs: Any) -> httpx.Response:
        if self.rate:
            self.rate.acquire(on_wait=self._rate_wait)
        if self.concurrency:
            self.concurrency.acquire()
        throttled = False
        try:
            with self._lock:
                self.requests += 1
            try:
                response = self._exchange(method, url, unread, {k: v for k, v in kwargs.items() if v is not None})
            except _NOT_SENT as exc:
                if not self._reached and (cannot := unreachable(exc, url)):
                    raise cannot from None
                raise _Retry(type(exc).__name__) from None
            except _MAYBE_SENT as exc:
                if idempotent:
                    raise _Retry(type(exc).__name__) from None
                raise AmbiguousWriteError(
                    f"{self.service} did not answer {method} {url.path} ({type(exc).__name__}); "
                    "the change may or may not have been made."
                ) from None
            self._reached = True
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

    def _exchange(self, method: str, url: httpx.URL, unread: bool, options: dict[str, Any]) -> httpx.Response:
        """One request on a client of its own; the client goes back to the free list once the body is read."""
        client = self._checkout()
        auth = options.pop("auth", httpx.USE_CLIENT_DEFAULT)
        try:
            response = client.send(client.build_request(method, url, **options), stream=unread, auth=auth)
        except BaseException:
            self._idle.put(client)
            raise
        if unread:
            response.stream = _GivesBack(response.stream, lambda: self._idle.put(client))
        else:
            self._idle.put(client)
        return response

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = wait_random_exponential(multiplier=0.5, max=30)(state)
        if isinstance(error, _Unreachable):
            return UNREACHABLE_RETRY_SECONDS
        if isinstance(error, _Retry) and error.retry_after is not None:
            return min(error.retry_after, 120.0)
        return float(backoff)

    def _log_retry(self, state: RetryCallState) -> None:
        with self._lock:
            self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        seconds = state.next_action.sleep if state.next_action else 0.0
        logger.info(
            "retrying upstream request",
            extra={
                "service": self.service,
                "reason": str(error),
                "attempt": state.attempt_number,
                "wait_seconds": round(seconds, 1),
            },
        )
        if isinstance(error, _Retry) and error.retry_after is not None and seconds >= NOTICEABLE_WAIT_SECONDS:
            why = f"{self.service}'s rate limit" if error.reason == "HTTP 429" else f"{self.service} ({error.reason})"
            self._waiting(f"waiting {seconds:.0f} s for {why}")

    def _rate_wait(self, seconds: float) -> None:
        if seconds >= NOTICEABLE_WAIT_SECONDS:
            self._waiting(f"waiting {seconds:.0f} s for {self.service}'s rate limit")

    def _waiting(self, notice: str) -> None:
        logger.info(notice, extra={"service": self.service})
        if self._on_wait:
            self._on_wait(notice)


@functools.cache
def _trusted() -> ssl.SSLContext:
    """The CA certificates, loaded once per process (~25 ms): a warm Lambda keeps them for its next invocation."""
    return httpx.create_ssl_context()


def _sent_trace(on_sent: Callable[[], None]) -> dict[str, Any]:
    """httpcore's trace extension, told of each step of an exchange: `on_sent` once the request has gone out."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith(".send_request_body.complete"):
            on_sent()

    return {"trace": trace}


class _GivesBack(httpx.SyncByteStream):
    """A response body that hands its client back once it has been read or closed."""

    def __init__(self, stream: httpx.SyncByteStream | httpx.AsyncByteStream, give_back: Callable[[], None]) -> None:
        assert isinstance(stream, httpx.SyncByteStream)
        self._stream, self._give_back = stream, give_back
        self._given = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            if not self._given:
                self._given = True
                self._give_back()


class _GaveUpOnHost(stop_base):
    """Stops after UNREACHABLE_ATTEMPTS when every one said the host cannot be reached at all."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        return isinstance(error, _Unreachable) and retry_state.attempt_number >= UNREACHABLE_ATTEMPTS
