"""Gusto's OAuth server (Doorkeeper, on the API host) and the bearer-token check in front of the API.

It issues authorization codes from a consent page that approves at once (or refuses, with `deny_consent`),
exchanges them, rotates refresh tokens, revokes tokens, and retires an old token pair on the first use of
its successor. Where Gusto is undocumented: reusing a spent or revoked refresh token answers Doorkeeper's
400 `invalid_grant`; in strict mode (the default) a refresh also retires the old access token at once, as
Doorkeeper revokes the whole old token row; the 401 body uses the `{"errors": [...]}` shape with category
`invalid_token`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from ..responses import Reject, json_response
from .errors import errors, oauth_error

CLIENT_ID = "sim-gusto-client-id"
CLIENT_SECRET = "sim-gusto-client-secret"
DEFAULT_SCOPES = (
    "companies:read employees:read employees:manage contractors:read company_admin:read company_admin:write"
)
AUTHORIZATION_CODE_TTL = 600.0

# Doorkeeper's wording (config/locales/en.yml), which Gusto's OAuth server returns.
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used "
    "in the authorization request, or was issued to another client."
)
_INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)
_INVALID_REQUEST = (
    "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed."
)


@dataclass
class TokenRow:
    """One Doorkeeper access-token row: an access token and its refresh token live and die together."""

    access_token: str
    refresh_token: str
    created_at: float
    expires_at: float
    scope: str
    previous_refresh_token: str | None
    revoked: bool = False


@dataclass
class _AuthorizationCode:
    redirect_uri: str
    issued_at: float
    used: bool = False


class OAuthServer:
    """The token and authorization-code store behind `/oauth/*`, guarded by one lock."""

    def __init__(
        self, *, access_token_ttl: int, grace_until_first_use: bool, scopes: str, clock: Callable[[], float]
    ) -> None:
        self.access_token_ttl = access_token_ttl
        self.grace_until_first_use = grace_until_first_use
        self.scopes = scopes
        self.deny_consent = False
        self.refresh_count = 0
        self.token_endpoint_calls = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._by_access: dict[str, TokenRow] = {}
        self._by_refresh: dict[str, TokenRow] = {}
        self._codes: dict[str, _AuthorizationCode] = {}
        self._endpoints: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {
            ("POST", "/oauth/token"): self._token_endpoint,
            ("GET", "/oauth/authorize"): self._authorize,
            ("POST", "/oauth/revoke"): self._revoke,
        }

    # ------------------------------------------------------------------ for tests and the demo

    def issue_credentials(self, environment: str = "demo") -> dict[str, str]:
        """A freshly authorised connection, in the shape the connector keeps in its secret (docs/secrets.md)."""
        with self._lock:
            row = self._mint(previous=None)
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": row.refresh_token,
            "access_token": row.access_token,
            "access_token_expires_at": datetime.fromtimestamp(row.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "environment": environment,
        }

    def refresh_token_valid(self, token: str) -> bool:
        with self._lock:
            row = self._by_refresh.get(token)
            return row is not None and not row.revoked

    def valid_refresh_tokens(self) -> list[str]:
        with self._lock:
            return [token for token, row in self._by_refresh.items() if not row.revoked]

    def revoke_all(self) -> None:
        """The customer disconnects the app: every token and pending authorization code stops working."""
        with self._lock:
            for row in self._by_refresh.values():
                row.revoked = True
            for code in self._codes.values():
                code.used = True

    # ------------------------------------------------------------------ HTTP

    def answer(self, request: httpx.Request) -> httpx.Response | None:
        """The answer of an OAuth endpoint; None when the request is for another path or method."""
        endpoint = self._endpoints.get((request.method, request.url.path))
        if endpoint is None:
            return None
        try:
            return endpoint(request)
        except Reject as reject:
            return reject.response

    def authenticate(self, request: httpx.Request) -> TokenRow:
        """The token row of an API call's bearer token; raises `Reject` with a 401 when it is not usable."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            row = self._by_access.get(token.strip()) if scheme.lower() == "bearer" else None
            if row is None or row.revoked:
                raise Reject(_invalid_token("The access token is invalid"))
            if self._clock() >= row.expires_at:
                raise Reject(_invalid_token("The access token expired"))
            if row.previous_refresh_token is not None:
                # Doorkeeper's refresh_token_revoked_on_use: first use of the new pair retires the old one.
                previous = self._by_refresh.get(row.previous_refresh_token)
                if previous is not None:
                    previous.revoked = True
                row.previous_refresh_token = None
            return row

    def _token_endpoint(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.token_endpoint_calls += 1
        if "client_secret" in request.url.params:
            return oauth_error(400, "invalid_request", "client_secret must not be sent in the query string.")
        form = _client_form(request)
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            response = self._refresh(form)
        elif grant_type == "authorization_code":
            response = self._exchange_code(form)
        else:
            description = "The authorization grant type is not supported by the authorization server."
            response = oauth_error(400, "unsupported_grant_type", description)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _refresh(self, form: dict[str, str]) -> httpx.Response:
        token = form.get("refresh_token")
        if not token:
            return oauth_error(400, "invalid_request", _INVALID_REQUEST)
        with self._lock:
            old = self._by_refresh.get(token)
            if old is None or old.revoked:
                return oauth_error(400, "invalid_grant", INVALID_GRANT)
            if self.grace_until_first_use:
                # The old pair lives on until the new access token is first used; a repeat mints another pair.
                row = self._mint(previous=token)
            else:
                old.revoked = True
                row = self._mint(previous=None)
            self.refresh_count += 1
        return self._token_response(row)

    def _exchange_code(self, form: dict[str, str]) -> httpx.Response:
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            if (
                code is None
                or code.used
                or self._clock() - code.issued_at >= AUTHORIZATION_CODE_TTL
                or form.get("redirect_uri") != code.redirect_uri
            ):
                return oauth_error(400, "invalid_grant", INVALID_GRANT)
            code.used = True
            row = self._mint(previous=None)
        return self._token_response(row)

    def _token_response(self, row: TokenRow) -> httpx.Response:
        body = {
            "access_token": row.access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl,
            "created_at": int(row.created_at),
            "refresh_token": row.refresh_token,
            "scope": row.scope,
        }
        return json_response(200, body)

    def _mint(self, previous: str | None) -> TokenRow:
        """A new token row; the caller holds the lock."""
        now = self._clock()
        row = TokenRow(
            access_token=secrets.token_urlsafe(32),
            refresh_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + self.access_token_ttl,
            scope=self.scopes,
            previous_refresh_token=previous,
        )
        self._by_access[row.access_token] = row
        self._by_refresh[row.refresh_token] = row
        return row

    def _authorize(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("client_id") != CLIENT_ID:
            return oauth_error(400, "invalid_client", _INVALID_CLIENT)
        redirect_uri = params.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            # Never redirect to an unusable URI; the user would see an error page instead.
            return oauth_error(400, "invalid_request", _INVALID_REQUEST)
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("response_type") != "code":
            description = "The authorization server does not support this response type."
            return _redirect(
                redirect_uri,
                {"error": "unsupported_response_type", "error_description": description, **state},
            )
        if self.deny_consent:
            description = "The resource owner or authorization server denied the request."
            return _redirect(redirect_uri, {"error": "access_denied", "error_description": description, **state})
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _AuthorizationCode(redirect_uri=redirect_uri, issued_at=self._clock())
        return _redirect(redirect_uri, {"code": code, **state})

    def _revoke(self, request: httpx.Request) -> httpx.Response:
        token = _client_form(request).get("token", "")
        with self._lock:
            row = self._by_access.get(token) or self._by_refresh.get(token)
            if row is not None:
                row.revoked = True
        # RFC 7009: an unknown token is not an error.
        return json_response(200, {})


def _invalid_token(message: str) -> httpx.Response:
    response = errors(401, "base", "invalid_token", f"{message}.")
    response.headers["WWW-Authenticate"] = (
        f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{message}"'
    )
    return response


def _client_form(request: httpx.Request) -> dict[str, str]:
    """The parameters of a token or revoke call from an authenticated client; else raises `Reject`."""
    try:
        form = _form(request)
    except ValueError:
        raise Reject(oauth_error(400, "invalid_request", _INVALID_REQUEST)) from None
    if _client_credentials(request, form) != (CLIENT_ID, CLIENT_SECRET):
        raise Reject(oauth_error(401, "invalid_client", _INVALID_CLIENT))
    return form


def _form(request: httpx.Request) -> dict[str, str]:
    """OAuth parameters from a JSON or form-encoded body (Gusto documents JSON; clients also send forms)."""
    raw = request.content.decode("utf-8", errors="replace")
    if "json" in request.headers.get("Content-Type", "") or raw.lstrip().startswith("{"):
        body = json.loads(raw)  # a JSONDecodeError is a ValueError, which the caller answers with 400
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return {str(key): str(value) for key, value in body.items() if value is not None}
    return dict(parse_qsl(raw))


def _client_credentials(request: httpx.Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except ValueError:
            return None, None
        return client_id, client_secret
    return form.get("client_id"), form.get("client_secret")


def _redirect(uri: str, params: dict[str, str]) -> httpx.Response:
    separator = "&" if urlsplit(uri).query else "?"
    return httpx.Response(302, headers={"Location": f"{uri}{separator}{urlencode(params)}"})
