"""`GustoSimulator`: the seeded company, its provisioning overlay, the OAuth server and the API, put together."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast, overload

import httpx

from ..base import Simulator
from ..faults import Faults
from ..limits import RollingWindow
from .data import GeneratedCompany, Record
from .oauth import DEFAULT_SCOPES, OAuthServer
from .overlay import Overlay
from .routes import RATE_WINDOW_SECONDS, GustoApi

if TYPE_CHECKING:
    from ..organisation import Organisation

T = TypeVar("T")


class _Forwarded(Generic[T]):
    """A simulator attribute that belongs to one of its parts: reading and setting it go through to the part."""

    def __init__(self, part: str) -> None:
        self._part = part

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, sim: None, owner: type) -> Self: ...
    @overload
    def __get__(self, sim: object, owner: type | None = None) -> T: ...
    def __get__(self, sim: object, owner: type | None = None) -> T | Self:
        return self if sim is None else cast(T, getattr(getattr(sim, self._part), self._name))

    def __set__(self, sim: object, value: T) -> None:
        setattr(getattr(sim, self._part), self._name, value)


class GustoSimulator(Simulator):
    """An in-memory Gusto: one company, its employees, contractors and admins, behind OAuth.

    Set `deny_consent` to make the consent page refuse, as when the customer clicks Deny. `mutations` lists
    each provisioning change as (method, path).
    """

    company_uuid = _Forwarded[str]("company")
    company_name = _Forwarded[str]("company")
    employee_count = _Forwarded[int]("company")
    contractor_count = _Forwarded[int]("company")
    admin_count = _Forwarded[int]("company")
    seed = _Forwarded[int]("company")
    mutations = _Forwarded[list[tuple[str, str]]]("overlay")
    access_token_ttl = _Forwarded[int]("oauth")
    grace_until_first_use = _Forwarded[bool]("oauth")
    scopes = _Forwarded[str]("oauth")
    deny_consent = _Forwarded[bool]("oauth")
    refresh_count = _Forwarded[int]("oauth")
    token_endpoint_calls = _Forwarded[int]("oauth")
    embedded_admin_api = _Forwarded[bool]("api")

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
        organisation: Organisation | None = None,
    ) -> None:
        """With `organisation`, the company is that organisation's (its sizes and seed replace these)."""
        super().__init__(latency=latency, faults=faults)
        self.company = (
            organisation.company
            if organisation is not None
            else GeneratedCompany(employees=employees, contractors=contractors, admins=admins, seed=seed)
        )
        self.overlay = Overlay(self.company)
        self.oauth = OAuthServer(
            access_token_ttl=access_token_ttl, grace_until_first_use=grace_until_first_use, scopes=scopes, clock=clock
        )
        rate_limit = RollingWindow(rate_limit_per_minute, RATE_WINDOW_SECONDS, clock)
        self.api = GustoApi(self.overlay, self.oauth, rate_limit, embedded_admin_api=embedded_admin_api)

    def route(self, request: httpx.Request) -> httpx.Response:
        response = self.oauth.answer(request)
        if response is None:
            response = self.api.answer(request)
        response.headers["X-Request-Id"] = str(uuid.uuid4())
        return response

    # ------------------------------------------------------------------ for tests and the demo

    def issue_credentials(self, environment: str = "demo") -> dict[str, str]:
        return self.oauth.issue_credentials(environment)

    def refresh_token_valid(self, token: str) -> bool:
        return self.oauth.refresh_token_valid(token)

    def valid_refresh_tokens(self) -> list[str]:
        return self.oauth.valid_refresh_tokens()

    def revoke_all(self) -> None:
        self.oauth.revoke_all()

    def employee(self, employee_uuid: str) -> Record | None:
        return self.overlay.employee(employee_uuid)

    def admin_emails(self) -> list[str]:
        return self.overlay.admin_emails()

    def expected_counts(self) -> dict[str, Any]:
        return self.overlay.expected_counts()
