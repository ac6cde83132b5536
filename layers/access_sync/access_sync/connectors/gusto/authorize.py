"""Gusto's OAuth authorization-code flow, for `access-sync connect gusto` (docs/connect.md).

The redirect URI is a one-shot listener on 127.0.0.1 (a loopback redirect, RFC 8252 §7.3). It takes the first
request to /callback, accepts it only when its `state` is the random value this run sent (so nobody can
slip in an authorization of their own), answers the browser with a short page and hands the outcome to the
terminal. The code is exchanged at /oauth/token with the client secret in the form body (Gusto refuses it
in the query string). Nothing here stores anything: the caller stores the credentials it gets back.
"""

from __future__ import annotations

import hmac
import html
import re
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from pydantic import SecretStr

from access_sync.connectors.gusto.oauth import TokenEndpoint
from access_sync.errors import AccessSyncError, ConfigurationError, CredentialsError, UpstreamError
from access_sync.models.secrets import GustoCredentials

CALLBACK_PATH = "/callback"
LOOPBACK = "127.0.0.1"
CONNECT_AGAIN = "run `access-sync connect gusto` again"
UNUSABLE_ANSWER = f"Gusto's token endpoint answered without a usable Bearer token and refresh token; {CONNECT_AGAIN}."

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>access-sync</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 4em auto">
<h1>{title}</h1><p>{text}</p><p>You can close this tab and return to the terminal.</p>
</body></html>
"""


def new_state() -> str:
    return secrets.token_urlsafe(32)


def authorize_url(base_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    # Gusto takes no scopes here: it assigns them to the app when it reviews the app (docs/connect.md).
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "state": state})
    return f"{base_url.rstrip('/')}/oauth/authorize?{query}"


def callback_outcome(query: Mapping[str, str], state: str, redirect_uri: str) -> str | AccessSyncError:
    """The authorization code from the redirect's query, or the error that says why there is none."""
    if not hmac.compare_digest(query.get("state", ""), state):
        return CredentialsError(
            "The answer that reached the redirect URI did not carry the state value this run sent, so it was "
            f"refused and nothing was stored; {CONNECT_AGAIN} and open only the link it prints."
        )
    error = query.get("error")
    if error == "access_denied":
        return CredentialsError(
            f"Access was denied on Gusto's consent page, so nothing was stored; {CONNECT_AGAIN} and approve "
            "access as a primary or full-access admin of the company."
        )
    if error:
        # The code is echoed only when it looks like an OAuth error code: the query is anyone's to craft.
        code = error if re.fullmatch(r"[a-z_]{1,40}", error) else "an unknown error"
        return CredentialsError(
            f"Gusto refused the authorization request ({code}), so nothing was stored; check the client id and "
            f"that {redirect_uri} is a redirect URI of your app in the Gusto Developer Portal."
        )
    if not query.get("code"):
        return CredentialsError(
            f"Gusto's answer carried no authorization code, so nothing was stored; {CONNECT_AGAIN}."
        )
    return query["code"]


class _Server(ThreadingHTTPServer):
    # Threads, so that a browser's idle pre-connected socket cannot hold up the real request.
    daemon_threads = True
    listener: CallbackListener


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != CALLBACK_PATH:
            self._answer(404, "Not found", "access-sync is waiting for Gusto's answer at another address.")
            return
        outcome = self.server.listener.deliver(dict(parse_qsl(url.query)))
        if isinstance(outcome, AccessSyncError):
            self._answer(400, "access-sync could not connect to Gusto", outcome.message)
        else:
            self._answer(200, "access-sync received Gusto's answer", outcome)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request line holds the authorization code, and the terminal says what matters."""

    def _answer(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the page's own URL carries the code
        self.end_headers()
        self.wfile.write(body)


class CallbackListener:
    """`with CallbackListener(port, state) as listener:` serves `listener.redirect_uri` until the block ends."""

    def __init__(self, port: int, state: str) -> None:
        self.port = port
        self.state = state
        self._outcome: str | AccessSyncError | None = None
        self._delivered = threading.Event()
        self._lock = threading.Lock()
        self._server: _Server | None = None

    @property
    def redirect_uri(self) -> str:
        # Port 0 (tests) is only known once bound.
        port = self._server.server_address[1] if self._server else self.port
        return f"http://{LOOPBACK}:{port}{CALLBACK_PATH}"

    def __enter__(self) -> CallbackListener:
        try:
            self._server = _Server((LOOPBACK, self.port), _CallbackHandler)
        except (OSError, OverflowError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigurationError(
                f"Cannot listen on {LOOPBACK}:{self.port} ({reason}); free that port or choose another with --port "
                "and register http://127.0.0.1:<port>/callback as a redirect URI of your Gusto app."
            ) from None
        self._server.listener = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def deliver(self, query: Mapping[str, str]) -> str | AccessSyncError:
        """Records the first redirect (later ones change nothing) and returns the sentence for the browser."""
        outcome = callback_outcome(query, self.state, self.redirect_uri)
        with self._lock:
            if self._delivered.is_set():
                return CredentialsError("access-sync already received an answer for this run; see the terminal.")
            self._outcome = outcome
            self._delivered.set()
        if isinstance(outcome, AccessSyncError):
            return outcome
        return "access-sync is finishing the connection in the terminal."

    def wait(self, timeout: float) -> str:
        """The authorization code; raises the callback's error, or a timeout error after `timeout` seconds."""
        if not self._delivered.wait(timeout):
            raise CredentialsError(
                f"Nobody completed Gusto's consent page within {timeout:g} s, so nothing was stored; {CONNECT_AGAIN} "
                f"and approve access in the browser (if Gusto showed an error, check the client id and that "
                f"{self.redirect_uri} is a redirect URI of your app)."
            )
        if isinstance(self._outcome, AccessSyncError):
            raise self._outcome
        assert self._outcome is not None  # set together with the event
        return self._outcome


def exchange_code(
    base_url: str,
    *,
    client_id: str,
    client_secret: SecretStr,
    code: str,
    redirect_uri: str,
    environment: Literal["production", "demo"],
    transport: httpx.BaseTransport | None = None,
) -> GustoCredentials:
    """Trades the code for the first token pair, as the credentials to store (docs/secrets.md)."""
    endpoint = TokenEndpoint(
        base_url,
        invalid_grant=lambda: CredentialsError(
            "Gusto refused the authorization code (it expires after 10 minutes, works only once and only with the "
            f"redirect URI it was issued for), so nothing was stored; {CONNECT_AGAIN}."
        ),
        invalid_client=lambda: CredentialsError(
            "Gusto rejected the client id and client secret (invalid_client), so nothing was stored; copy both "
            "again from your app in the Gusto Developer Portal."
        ),
        other_error=f" to the code exchange, so nothing was stored; {CONNECT_AGAIN}.",
        unusable=UNUSABLE_ANSWER,
        transport=transport,
    )
    started = time.time()
    try:
        answer = endpoint.request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": client_secret.get_secret_value(),
            }
        )
    finally:
        endpoint.close()
    if answer.refresh_token is None:
        raise UpstreamError(UNUSABLE_ANSWER)
    return GustoCredentials(
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=answer.refresh_token,
        access_token=answer.access_token,
        access_token_expires_at=datetime.fromtimestamp(started + answer.expires_in, UTC),
        environment=environment,
    )
