"""Simulated Gusto API: OAuth with rotating refresh tokens, one company's people, admins and provisioning.

Modelled on Gusto's published behaviour (reference/gusto-api.md): Doorkeeper-style OAuth on the API host,
company access tokens bound to one company, `page`/`per` paging with `X-Total-Pages`, 200 requests per
rolling minute, `X-Gusto-API-Version`, and the `{"errors": [...]}` error bodies. Company data is generated
deterministically from the seed and each record's index, so companies of any size cost nothing until read;
provisioning changes live in a thread-safe overlay on top of the generated data.

Where Gusto is undocumented, these choices were made:
- reusing a spent or revoked refresh token answers Doorkeeper's 400 `invalid_grant`; in strict mode a refresh
  also retires the old access token at once (Doorkeeper revokes the whole old token row);
- POST admins without Embedded access answers 403 `missing_permissions`; an email that is already an admin
  (any letter case) answers the spec's 422 `admin_duplicate_email` example;
- `per` is capped at 100; the 401 body uses the `{"errors": [...]}` shape with category `invalid_token`;
- only `/v1` calls count against the rate limit and carry `X-RateLimit-*`; the OAuth endpoints do not.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import random
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from .base import Faults, Simulator, json_response
from .seeds import DEPARTMENTS, FIRST_NAMES, LAST_NAMES

CLIENT_ID = "sim-gusto-client-id"
CLIENT_SECRET = "sim-gusto-client-secret"
DEFAULT_SCOPES = (
    "companies:read employees:read employees:manage contractors:read company_admin:read company_admin:write"
)
SUPPORTED_API_VERSIONS = ("2025-06-15", "2025-11-15", "2026-02-01", "2026-06-15")
DEFAULT_API_VERSION = "2025-06-15"  # what an app's Developer Portal default would be when no header is sent
AUTHORIZATION_CODE_TTL = 600.0
RATE_WINDOW_SECONDS = 60.0
DEFAULT_PER = 25
MAX_PER = 100

Record = dict[str, Any]
_K = TypeVar("_K")

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
_EMBEDDED_ONLY = (
    "This endpoint is part of Gusto Embedded. Please contact developer@gusto.com to request access. "
    "Note, this may require you to enter a different agreement with Gusto."
)

_TITLES = ("Associate", "Specialist", "Senior Specialist", "Lead", "Manager", "Director")
_COMPANY_WORDS = (
    ("Northwind", "Bluebird", "Cedar", "Harbor", "Summit", "Lumen"),
    ("Robotics", "Foods", "Labs"),
)
_ONBOARDING_STATUSES = (
    "admin_onboarding_incomplete",
    "self_onboarding_pending_invite",
    "self_onboarding_invited",
    "self_onboarding_invited_started",
    "self_onboarding_awaiting_admin_review",
)
_EPOCH = date(2015, 1, 5)


class _Reject(Exception):
    """Ends request handling early with a ready response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _errors(status: int, key: str, category: str, message: str, **extra: Any) -> httpx.Response:
    return json_response(status, {"errors": [{"error_key": key, "category": category, "message": message, **extra}]})


def _not_found() -> httpx.Response:
    return _errors(404, "request", "not_found", "The requested resource was not found.")


def _oauth_error(status: int, error: str, description: str) -> httpx.Response:
    return json_response(status, {"error": error, "error_description": description})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _recase(email: str) -> str:
    """Capitalise each dotted part of the local part: the same mailbox in a different letter case."""
    local, _, domain = email.partition("@")
    return ".".join(part[:1].upper() + part[1:] for part in local.split(".")) + "@" + domain


def _positive_int(raw: str | None, default: int) -> int:
    # Rails paginators fall back to their defaults on junk or non-positive values rather than failing.
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 1 else default


@dataclass
class _TokenRow:
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


class _RollingWindow:
    """Counts requests over the last `window` seconds, as Gusto's limiter does per OAuth grant."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> tuple[bool, dict[str, str]]:
        """Record one request if the window has room; returns (admitted, rate-limit headers)."""
        now = self._clock()
        with self._lock:
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            admitted = len(self._hits) < self.limit
            if admitted:
                self._hits.append(now)
            frees_at = (self._hits[0] if self._hits else now) + self.window
            remaining = self.limit - len(self._hits)
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": datetime.fromtimestamp(frees_at, UTC).strftime("%Y-%m-%d %H:%M:%S +0000"),
        }
        if not admitted:
            headers["Retry-After"] = str(max(1, math.ceil(frees_at - now)))
        return admitted, headers


_Handler = Callable[[httpx.Request, re.Match[str], _TokenRow], httpx.Response]


class GustoSimulator(Simulator):
    """An in-memory Gusto: one company, its employees, contractors and admins, behind OAuth."""

    def __init__(
        self,
        *,
        employees: int = 30,
        contractors: int = 8,
        admins: int = 4,
        access_token_ttl: int = 7200,
        grace_until_first_use: bool = False,
        rate_limit_per_minute: int = 200,
        embedded_admin_api: bool = True,
        scopes: str = DEFAULT_SCOPES,
        latency: float = 0.0,
        faults: Faults | None = None,
        seed: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(latency=latency, faults=faults)
        self.employee_count = employees
        self.contractor_count = contractors
        self.admin_count = admins
        self.access_token_ttl = access_token_ttl
        self.grace_until_first_use = grace_until_first_use
        self.embedded_admin_api = embedded_admin_api
        self.scopes = scopes
        self.seed = seed
        self.deny_consent = False
        self.refresh_count = 0
        self.token_endpoint_calls = 0
        self.mutations: list[tuple[str, str]] = []
        self._clock = clock
        self._rate = _RollingWindow(rate_limit_per_minute, RATE_WINDOW_SECONDS, clock)
        # One lock guards tokens, codes and the provisioning overlay; generation itself needs none.
        self._lock = threading.RLock()
        self._by_access: dict[str, _TokenRow] = {}
        self._by_refresh: dict[str, _TokenRow] = {}
        self._codes: dict[str, _AuthorizationCode] = {}
        self._deleted_employees: set[int] = set()
        self._created_employees: dict[str, Record] = {}
        self._created_admins: list[Record] = []
        self._employees_created = 0  # numbers created employees' UUIDs, which stay unique after deletions
        self._employee_index: dict[str, int] | None = None
        self._contractor_index: dict[str, int] | None = None
        self.company_uuid = self._uuid("company", 0)
        words = random.Random(f"{seed}:company")
        self.company_name = f"{words.choice(_COMPANY_WORDS[0])} {words.choice(_COMPANY_WORDS[1])}"
        self._domain = self.company_name.lower().replace(" ", "-") + ".test"
        company = r"/v1/companies/(?P<company>[^/]+)"
        self._routes: list[tuple[str, re.Pattern[str], str | None, _Handler]] = [
            (method, re.compile(pattern), scope, handler)
            for method, pattern, scope, handler in (
                ("GET", r"/v1/token_info", None, self._token_info),
                ("GET", company, "companies:read", self._get_company),
                ("GET", company + "/employees", "employees:read", self._list_employees),
                ("POST", company + "/employees", "employees:manage", self._create_employee),
                ("GET", company + "/contractors", "contractors:read", self._list_contractors),
                ("GET", company + "/admins", "company_admin:read", self._list_admins),
                ("POST", company + "/admins", "company_admin:write", self._create_admin),
                ("GET", r"/v1/employees/(?P<uuid>[^/]+)", "employees:read", self._get_employee),
                ("DELETE", r"/v1/employees/(?P<uuid>[^/]+)", "employees:manage", self._delete_employee),
                ("GET", r"/v1/contractors/(?P<uuid>[^/]+)", "contractors:read", self._get_contractor),
            )
        ]

    # ------------------------------------------------------------------ credentials and introspection

    def issue_credentials(self, environment: str = "demo") -> dict[str, str]:
        """A freshly authorised connection, in the shape the connector keeps in its secret (DESIGN §6)."""
        with self._lock:
            row = self._mint(previous=None)
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": row.refresh_token,
            "access_token": row.access_token,
            "access_token_expires_at": _iso(row.expires_at),
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

    def employee(self, employee_uuid: str) -> Record | None:
        """The employee as the API would show it now (a copy), or None if unknown or deleted."""
        record = self._find_employee(employee_uuid)
        return copy.deepcopy(record) if record is not None else None

    def admin_emails(self) -> list[str]:
        return [admin["email"] for admin in self._admins()]

    def expected_counts(self) -> dict[str, Any]:
        """What a correct sync reports, in the shape of the snapshot manifest's `counts` (DESIGN §4).

        An admin is matched to an employee or contractor by `email`, ignoring case; the rest become users.
        """
        keys = self._employee_keys()
        # Generated employees' emails come straight from their index: no need to build 10,000 records.
        emails = [self._employee_email(key) if isinstance(key, int) else key["email"] for key in keys]
        emails += [self._contractor(index)["email"] for index in range(self.contractor_count)]
        people = {email.lower() for email in emails if email}
        admins = self._admins()
        users = sum(1 for admin in admins if admin["email"].lower() not in people)
        return {
            "resources": {
                "company": 1,
                "employee": len(keys),
                "contractor": self.contractor_count,
                "user": users,
            },
            "entitlements": 1,
            "grants": len(admins),
        }

    # ------------------------------------------------------------------ dispatch

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token" and request.method == "POST":
            response = self._token_endpoint(request)
        elif path == "/oauth/authorize" and request.method == "GET":
            response = self._authorize(request)
        elif path == "/oauth/revoke" and request.method == "POST":
            response = self._revoke(request)
        else:
            response = self._api(request, path)
        response.headers["X-Request-Id"] = str(uuid.uuid4())
        return response

    def _api(self, request: httpx.Request, path: str) -> httpx.Response:
        admitted, rate_headers = self._rate.admit()
        if admitted:
            response = self._versioned(request, path)
        else:
            response = _errors(429, "base", "rate_limit_exceeded", "Rate limit exceeded")
        response.headers.update(rate_headers)
        return response

    def _versioned(self, request: httpx.Request, path: str) -> httpx.Response:
        version = request.headers.get("X-Gusto-API-Version")
        if version is not None and version not in SUPPORTED_API_VERSIONS:
            supported = ", ".join(SUPPORTED_API_VERSIONS)
            message = f"Invalid API version {version!r}; supported versions are {supported}."
            return _errors(406, "request", "invalid_api_version", message)
        try:
            response = self._dispatch(request, path)
        except _Reject as reject:
            response = reject.response
        response.headers["X-Gusto-API-Version"] = version or DEFAULT_API_VERSION
        return response

    def _dispatch(self, request: httpx.Request, path: str) -> httpx.Response:
        row = self._authenticate(request)
        for method, pattern, scope, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None or method != request.method:
                continue
            if scope is not None and scope not in row.scope.split():
                message = f"The access token is missing the required scope: {scope}."
                return _errors(403, "base", "missing_oauth_scopes", message, metadata={"missing_scope_name": scope})
            return handler(request, match, row)
        return _not_found()

    def _authenticate(self, request: httpx.Request) -> _TokenRow:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            row = self._by_access.get(token.strip()) if scheme.lower() == "bearer" else None
            if row is None or row.revoked:
                raise _Reject(self._invalid_token("The access token is invalid"))
            if self._clock() >= row.expires_at:
                raise _Reject(self._invalid_token("The access token expired"))
            if row.previous_refresh_token is not None:
                # Doorkeeper's refresh_token_revoked_on_use: first use of the new pair retires the old one.
                previous = self._by_refresh.get(row.previous_refresh_token)
                if previous is not None:
                    previous.revoked = True
                row.previous_refresh_token = None
            return row

    @staticmethod
    def _invalid_token(message: str) -> httpx.Response:
        response = _errors(401, "base", "invalid_token", f"{message}.")
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{message}"'
        )
        return response

    def _check_company(self, match: re.Match[str]) -> None:
        if match["company"] != self.company_uuid:
            raise _Reject(_not_found())

    # ------------------------------------------------------------------ OAuth

    def _token_endpoint(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.token_endpoint_calls += 1
        if "client_secret" in request.url.params:
            return _oauth_error(400, "invalid_request", "client_secret must not be sent in the query string.")
        try:
            form = _form(request)
        except ValueError:
            return _oauth_error(400, "invalid_request", _INVALID_REQUEST)
        if _client_credentials(request, form) != (CLIENT_ID, CLIENT_SECRET):
            return _oauth_error(401, "invalid_client", _INVALID_CLIENT)
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            response = self._refresh(form)
        elif grant_type == "authorization_code":
            response = self._exchange_code(form)
        else:
            description = "The authorization grant type is not supported by the authorization server."
            response = _oauth_error(400, "unsupported_grant_type", description)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _refresh(self, form: dict[str, str]) -> httpx.Response:
        token = form.get("refresh_token")
        if not token:
            return _oauth_error(400, "invalid_request", _INVALID_REQUEST)
        with self._lock:
            old = self._by_refresh.get(token)
            if old is None or old.revoked:
                return _oauth_error(400, "invalid_grant", INVALID_GRANT)
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
                return _oauth_error(400, "invalid_grant", INVALID_GRANT)
            code.used = True
            row = self._mint(previous=None)
        return self._token_response(row)

    def _token_response(self, row: _TokenRow) -> httpx.Response:
        body = {
            "access_token": row.access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl,
            "created_at": int(row.created_at),
            "refresh_token": row.refresh_token,
            "scope": row.scope,
        }
        return json_response(200, body)

    def _mint(self, previous: str | None) -> _TokenRow:
        """A new token row; the caller holds the lock."""
        now = self._clock()
        row = _TokenRow(
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
            return _oauth_error(400, "invalid_client", _INVALID_CLIENT)
        redirect_uri = params.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            # Never redirect to an unusable URI; the user would see an error page instead.
            return _oauth_error(400, "invalid_request", _INVALID_REQUEST)
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
        try:
            form = _form(request)
        except ValueError:
            return _oauth_error(400, "invalid_request", _INVALID_REQUEST)
        if _client_credentials(request, form) != (CLIENT_ID, CLIENT_SECRET):
            return _oauth_error(401, "invalid_client", _INVALID_CLIENT)
        token = form.get("token", "")
        with self._lock:
            row = self._by_access.get(token) or self._by_refresh.get(token)
            if row is not None:
                row.revoked = True
        # RFC 7009: an unknown token is not an error.
        return json_response(200, {})

    # ------------------------------------------------------------------ API handlers

    def _token_info(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        return json_response(
            200,
            {
                "scope": row.scope,
                "resource": {"type": "Company", "uuid": self.company_uuid},
                "resource_owner": {"type": "CompanyAdmin", "uuid": self._uuid("admin", 0)},
            },
        )

    def _get_company(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        self._check_company(match)
        company = self._company()
        if "company_admin:read" not in row.scope.split():
            del company["primary_payroll_admin"]  # Gusto shows it only to tokens that may read admins
        return json_response(200, company)

    def _list_employees(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        self._check_company(match)
        return _paged(request, self._employee_keys(), self._render_employee)

    def _list_contractors(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        self._check_company(match)
        return _paged(request, range(self.contractor_count), self._contractor)

    def _list_admins(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        self._check_company(match)
        return _paged(request, self._admins(), lambda admin: admin)

    def _get_employee(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        record = self._find_employee(match["uuid"])
        return json_response(200, record) if record is not None else _not_found()

    def _get_contractor(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        index = self._contractor_lookup().get(match["uuid"])
        return json_response(200, self._contractor(index)) if index is not None else _not_found()

    def _create_admin(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        if not self.embedded_admin_api:
            return _errors(403, "base", "missing_permissions", _EMBEDDED_ONLY)
        self._check_company(match)
        body = _json_body(request)
        _require(body, ("first_name", "last_name", "email"))
        email = _valid_email(body["email"])
        with self._lock:
            if email.lower() in {existing.lower() for existing in self.admin_emails()}:
                return _errors(422, "email", "invalid_attribute_value", "User has already been taken")
            admin = {
                "uuid": self._uuid("admin-created", len(self._created_admins)),
                "first_name": body["first_name"],
                "last_name": body["last_name"],
                "email": email,
                "phone": body.get("phone"),
            }
            self._created_admins.append(admin)
            self.mutations.append(("POST", request.url.path))
        return json_response(200, admin)

    def _create_employee(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        self._check_company(match)
        body = _json_body(request)
        self_onboarding = body.get("self_onboarding") is True
        _require(body, ("first_name", "last_name", "email") if self_onboarding else ("first_name", "last_name"))
        email = _valid_email(body["email"]) if body.get("email") is not None else None
        work_email = _valid_email(body["work_email"]) if body.get("work_email") is not None else None
        with self._lock:
            employee_uuid = self._uuid("employee-created", self._employees_created)
            self._employees_created += 1
            employee = self._employee_record(
                employee_uuid,
                first=body["first_name"],
                last=body["last_name"],
                email=email,
                work_email=work_email,
                onboarding_status="self_onboarding_pending_invite"
                if self_onboarding
                else "admin_onboarding_incomplete",
            )
            employee.update(
                middle_initial=body.get("middle_initial"),
                preferred_first_name=body.get("preferred_first_name"),
                date_of_birth=body.get("date_of_birth"),
                has_ssn=bool(body.get("ssn")),
            )
            self._created_employees[employee_uuid] = employee
            self.mutations.append(("POST", request.url.path))
        return json_response(201, employee)

    def _delete_employee(self, request: httpx.Request, match: re.Match[str], row: _TokenRow) -> httpx.Response:
        employee_uuid = match["uuid"]
        with self._lock:
            record = self._find_employee(employee_uuid)
            if record is None:
                return _not_found()
            if record["onboarded"]:
                return _errors(422, "base", "invalid_operation", "Cannot delete onboarded employee")
            if self._created_employees.pop(employee_uuid, None) is None:
                self._deleted_employees.add(self._employee_lookup()[employee_uuid])
            self.mutations.append(("DELETE", request.url.path))
        return httpx.Response(204)

    # ------------------------------------------------------------------ generated data and the overlay

    def _uuid(self, kind: str, index: int) -> str:
        digest = hashlib.sha256(f"{self.seed}:{kind}:{index}".encode()).digest()[:16]
        return str(uuid.UUID(bytes=digest, version=4))

    def _employee_keys(self) -> list[int | Record]:
        """A consistent view of the current employees: generated indices, then created records."""
        with self._lock:
            deleted = self._deleted_employees
            return [
                *(i for i in range(self.employee_count) if i not in deleted),
                *self._created_employees.values(),
            ]

    def _render_employee(self, key: int | Record) -> Record:
        return self._generated_employee(key) if isinstance(key, int) else key

    def _find_employee(self, employee_uuid: str) -> Record | None:
        with self._lock:
            created = self._created_employees.get(employee_uuid)
            if created is not None:
                return created
            index = self._employee_lookup().get(employee_uuid)
            if index is None or index in self._deleted_employees:
                return None
        return self._generated_employee(index)

    def _employee_lookup(self) -> dict[str, int]:
        with self._lock:
            if self._employee_index is None:
                self._employee_index = {self._uuid("employee", i): i for i in range(self.employee_count)}
            return self._employee_index

    def _contractor_lookup(self) -> dict[str, int]:
        with self._lock:
            if self._contractor_index is None:
                self._contractor_index = {self._uuid("contractor", i): i for i in range(self.contractor_count)}
            return self._contractor_index

    def _person_name(self, kind: str, index: int) -> tuple[str, str, random.Random]:
        rng = random.Random(f"{self.seed}:{kind}:{index}")
        return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng

    def _employee_email(self, index: int) -> str:
        first, last, _ = self._person_name("employee", index)
        return f"{first}.{last}{index}@example.com"

    def _employee_record(
        self,
        employee_uuid: str,
        *,
        first: str,
        last: str,
        email: str | None,
        work_email: str | None,
        onboarding_status: str,
    ) -> Record:
        onboarded = onboarding_status == "onboarding_completed"
        return {
            "uuid": employee_uuid,
            "first_name": first,
            "middle_initial": None,
            "last_name": last,
            "preferred_first_name": None,
            "email": email,
            "work_email": work_email,
            "phone": None,
            "company_uuid": self.company_uuid,
            "manager_uuid": None,
            "department": None,
            "department_uuid": None,
            "title": None,
            "employee_code": employee_uuid[:6],
            "version": hashlib.md5(f"{employee_uuid}:1".encode(), usedforsecurity=False).hexdigest(),
            "terminated": False,
            "terminations": [],
            "onboarded": onboarded,
            "onboarding_status": onboarding_status,
            "current_employment_status": None,
            "jobs": [],
            "date_of_birth": None,
            "has_ssn": False,
            "ssn": "",
            "payment_method": "Check",
            "two_percent_shareholder": False,
            "historical": False,
        }

    def _generated_employee(self, index: int) -> Record:
        # Every tenth employee (offset 7) is still onboarding and every tenth (offset 9) is terminated;
        # offset 0 is always active, which is where admins are drawn from.
        first, last, rng = self._person_name("employee", index)
        employee_uuid = self._uuid("employee", index)
        onboarding = index % 10 == 7
        status = rng.choice(_ONBOARDING_STATUSES) if onboarding else "onboarding_completed"
        record = self._employee_record(
            employee_uuid,
            first=first.capitalize(),
            last=last.capitalize(),
            email=self._employee_email(index),
            work_email=None if index % 6 == 5 else f"{first}.{last}{index}@{self._domain}",
            onboarding_status=status,
        )
        hire_date = _EPOCH + timedelta(days=rng.randrange(3650))
        department = rng.choice(DEPARTMENTS)
        title = f"{rng.choice(_TITLES)}, {department}"
        record.update(
            phone=f"415555{index % 10000:04d}",
            manager_uuid=self._uuid("employee", (index - 1) // 8) if index else None,
            department=department,
            department_uuid=self._uuid("department", DEPARTMENTS.index(department)),
            title=title,
            current_employment_status=rng.choice(("full_time", "full_time", "part_time_twenty_plus_hours")),
            date_of_birth=(date(1960, 1, 1) + timedelta(days=rng.randrange(14000))).isoformat(),
            has_ssn=not onboarding,
            payment_method="Direct Deposit",
            jobs=[
                {
                    "uuid": self._uuid("job", index),
                    "employee_uuid": employee_uuid,
                    "title": title,
                    "hire_date": hire_date.isoformat(),
                    "primary": True,
                    "location_uuid": self._uuid("location", 0),
                }
            ],
        )
        if index % 10 == 9:
            record["terminated"] = True
            record["terminations"] = [
                {
                    "uuid": self._uuid("termination", index),
                    "employee_uuid": employee_uuid,
                    "effective_date": (hire_date + timedelta(days=rng.randrange(30, 900))).isoformat(),
                    "active": True,
                    "cancelable": False,
                    "run_termination_payroll": False,
                    "version": hashlib.md5(f"{employee_uuid}:termination".encode(), usedforsecurity=False).hexdigest(),
                }
            ]
        return record

    def _contractor(self, index: int) -> Record:
        # Every fourth contractor (offset 3) is a business without an email; every fifth (offset 4) has left.
        first, last, rng = self._person_name("contractor", index)
        contractor_uuid = self._uuid("contractor", index)
        business = index % 4 == 3
        active = index % 5 != 4
        start = _EPOCH + timedelta(days=rng.randrange(3650))
        return {
            "uuid": contractor_uuid,
            "company_uuid": self.company_uuid,
            "type": "Business" if business else "Individual",
            "first_name": None if business else first.capitalize(),
            "middle_initial": None,
            "last_name": None if business else last.capitalize(),
            "business_name": f"{last.capitalize()} Consulting {index} LLC" if business else None,
            "ein": None,
            "has_ein": business,
            "email": None if business else f"{first}.{last}.c{index}@example.net",
            "is_active": active,
            "onboarded": True,
            "onboarding_status": "onboarding_completed",
            "wage_type": "Hourly" if index % 2 else "Fixed",
            "hourly_rate": "85.00" if index % 2 else "0.00",
            "start_date": start.isoformat(),
            "dismissal_date": None if active else (start + timedelta(days=rng.randrange(30, 700))).isoformat(),
            "department": None,
            "work_state": "CA",
            "payment_method": "Direct Deposit",
            "version": hashlib.md5(f"{contractor_uuid}:1".encode(), usedforsecurity=False).hexdigest(),
        }

    def _generated_admin(self, index: int) -> Record:
        """Admin 0 is the primary payroll admin; the last admin matches nobody, the one before a contractor.

        The rest are employees whose login email differs from the HR record in letter case only.
        """
        count = self.admin_count
        person: tuple[str, str, str] | None = None
        if index == count - 2 and count >= 3 and self.contractor_count:
            contractor = self._contractor(0)
            person = (contractor["first_name"], contractor["last_name"], contractor["email"])
        elif (index < count - 1 or count == 1) and index * 10 < self.employee_count:
            first, last, _ = self._person_name("employee", index * 10)
            person = (first.capitalize(), last.capitalize(), _recase(self._employee_email(index * 10)))
        if person is None:
            first, last, _ = self._person_name("outside-admin", index)
            person = (
                first.capitalize(),
                last.capitalize(),
                f"{first}.{last}.{index}@outside-accountants.test",
            )
        return {
            "uuid": self._uuid("admin", index),
            "first_name": person[0],
            "last_name": person[1],
            "email": person[2],
            "phone": f"800555{index % 10000:04d}",
        }

    def _admins(self) -> list[Record]:
        with self._lock:
            created = list(self._created_admins)
        return [*(self._generated_admin(i) for i in range(self.admin_count)), *created]

    def _company(self) -> Record:
        primary = self._generated_admin(0) if self.admin_count else None
        return {
            "uuid": self.company_uuid,
            "name": self.company_name,
            "trade_name": self.company_name.split()[0],
            "slug": self._domain.removesuffix(".test"),
            "ein": f"{12 + self.seed % 80:02d}-{int(self.company_uuid[:7], 16) % 10_000_000:07d}",
            "entity_type": "C-Corporation",
            "tier": "complete",
            "is_suspended": False,
            "company_status": "Approved",
            "is_partner_managed": False,
            "contractor_only": self.employee_count == 0,
            "join_date": "2019-03-01",
            "funding_type": "ach",
            "pay_schedule_type": "single",
            "locations": [
                {
                    "uuid": self._uuid("location", 0),
                    "street_1": "525 20th Street",
                    "city": "San Francisco",
                    "state": "CA",
                    "zip": "94107",
                    "country": "USA",
                    "active": True,
                }
            ],
            "compensations": {"hourly": [], "fixed": [], "paid_time_off": []},
            "primary_payroll_admin": (
                {key: primary[key] for key in ("first_name", "last_name", "email", "phone")} if primary else None
            ),
        }


# ---------------------------------------------------------------------- request helpers


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


def _json_body(request: httpx.Request) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Reject(_errors(400, "request", "invalid_request_error", "The request body must be a JSON object."))
    return body


def _require(body: dict[str, Any], fields: Sequence[str]) -> None:
    missing = [name for name in fields if not isinstance(body.get(name), str) or not body[name].strip()]
    if missing:
        errors = [
            {"error_key": name, "category": "missing_parameter", "message": f"{name} is required."} for name in missing
        ]
        raise _Reject(json_response(422, {"errors": errors}))


def _valid_email(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise _Reject(_errors(422, "email", "invalid_attribute_value", "Email is invalid"))
    return value


def _paged(request: httpx.Request, keys: Sequence[_K], render: Callable[[_K], Record]) -> httpx.Response:
    """Gusto's paging: without `page` everything comes back at once; with it, one page plus X-* headers."""
    params = request.url.params
    if "page" not in params:
        return json_response(200, [render(key) for key in keys])
    page = _positive_int(params.get("page"), 1)
    per = min(_positive_int(params.get("per"), DEFAULT_PER), MAX_PER)
    total = len(keys)
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per),
        "X-Total-Count": str(total),
        "X-Total-Pages": str(math.ceil(total / per)),
    }
    return json_response(200, [render(key) for key in keys[(page - 1) * per : page * per]], headers)
