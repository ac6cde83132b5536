"""Gusto OAuth tokens, kept alive by the rules of docs/secrets.md.

Gusto rotates the refresh token on every refresh, and a lost refresh token means a person must
re-authorise the app by hand. So:

1. at most one refresh is in flight per credential: a mutex for this process's threads, the lease
   (stores/lease.py) for everything else;
2. the new pair is written to the secret store, then read back without cache, before the new access
   token is used;
3. an access token with more than five minutes left is reused;
4. under the lease the stored pair is read again without cache: if another holder refreshed meanwhile,
   its pair is used instead of refreshing again;
5. `invalid_grant` raises ReauthorizationRequired with a sentence that says what to do.

A 401 from the API triggers one refresh and one retry (`GustoAuth`). A refresh whose answer is lost
(timeout, dropped connection) is retried once with the same refresh token: Gusto keeps the old refresh
token valid until the new access token is first used, and that token never reached us.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import httpx

from access_sync.connectors.gusto.oauth import TokenAnswer, TokenEndpoint
from access_sync.errors import AccessSyncError, CredentialsError, ReauthorizationRequired, TransientError
from access_sync.models.secrets import GustoCredentials
from access_sync.observability import MetricUnit, logger, metrics
from access_sync.stores.lease import Lease
from access_sync.stores.secrets import SecretStore

BASE_URLS = {"production": "https://api.gusto.com", "demo": "https://api.gusto-demo.com"}
REUSE_MARGIN = 300.0  # rule 3: refresh when five minutes or less are left
REAUTHORIZE = (
    "the Gusto connection was revoked or its refresh token was already used; re-authorise the app with "
    "`access-sync connect gusto`, which stores a new refresh token in {store}."
)


def base_url_for(environment: str, override: str | None = None) -> str:
    """The secret's `environment` picks Gusto's host (the OAuth endpoints live on the API host)."""
    return (override or BASE_URLS[environment]).rstrip("/")


def reauthorize_message(store: str, lost_answer: bool = False) -> str:
    sentence = REAUTHORIZE.format(store=store)
    if lost_answer:
        return f"A Gusto token refresh got no answer and Gusto refused the same refresh token on retry: {sentence}"
    return sentence[:1].upper() + sentence[1:]


def _token(credentials: GustoCredentials) -> str | None:
    return credentials.access_token.get_secret_value() if credentials.access_token else None


class TokenManager:
    """Hands out a valid Gusto access token; thread-safe; one instance per credential and process is enough."""

    def __init__(
        self,
        store: SecretStore,
        lease: Lease,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 15.0,
    ) -> None:
        self.store = store
        self.lease = lease
        self._clock = clock
        self._credentials = self._parse(store.read())
        self.base_url = base_url_for(self._credentials.environment, base_url)
        self._endpoint = TokenEndpoint(
            self.base_url,
            invalid_grant=lambda: ReauthorizationRequired(reauthorize_message(store.describe())),
            invalid_client=lambda: CredentialsError(
                "Gusto rejected the app's client_id and client_secret (invalid_client); "
                f"check them in {store.describe()}."
            ),
            transport=transport,
            timeout=timeout,
            sleep=sleep,
        )
        self._mutex = threading.Lock()
        self._lifetime: float | None = None
        self.refreshes = 0
        self.auth = GustoAuth(self)

    def access_token(self) -> str:
        with self._mutex:
            current = self._credentials
            token = _token(current)
            if token and self._left(current) > self._margin():
                return token
            return self._renew(current, rejected=None)

    def after_unauthorized(self, rejected: str) -> str:
        """Gusto refused `rejected` (401): a newer token, refreshed unless another caller already did."""
        with self._mutex:
            current = self._credentials
            token = _token(current)
            if token and token != rejected and self._left(current) > 0:
                return token
            return self._renew(current, rejected=rejected)

    def close(self) -> None:
        self._endpoint.close()

    def _renew(self, known: GustoCredentials, rejected: str | None) -> str:
        with self.lease.hold():
            stored = self._parse(self.store.read(fresh=True))
            token = _token(stored)
            refreshed_elsewhere = stored.refresh_token != known.refresh_token
            if token and token != rejected:
                left = self._left(stored)
                # Rule 4; a pair another holder just minted is used even when its lifetime is short.
                if left > self._margin() or (refreshed_elsewhere and left > 0):
                    logger.info("using the Gusto access token already in the store")
                    self._credentials = stored
                    return token
            return self._refresh(stored)

    def _refresh(self, stored: GustoCredentials) -> str:
        """Refreshes, stores the new pair and makes it current; returns the new access token."""
        started = self._clock()
        logger.info("refreshing the Gusto access token", extra={"store": self.store.describe()})
        try:
            answer = self._request_tokens(stored)
        except TransientError:
            logger.warning("the Gusto token refresh got no answer; retrying once with the same refresh token")
            try:
                answer = self._request_tokens(stored)
            except ReauthorizationRequired:
                raise ReauthorizationRequired(reauthorize_message(self.store.describe(), lost_answer=True)) from None
        self.refreshes += 1
        self._lifetime = answer.expires_in
        renewed = stored.model_copy(
            update={
                "access_token": answer.access_token,
                # RFC 6749 §6: no refresh_token in the answer means the old one stays valid.
                "refresh_token": answer.refresh_token or stored.refresh_token,
                "access_token_expires_at": datetime.fromtimestamp(started + answer.expires_in, UTC),
            }
        )
        try:
            self.store.write(renewed.stored_form())  # rule 2: stored before the new access token is used
        except AccessSyncError:
            logger.error("the refreshed Gusto tokens could not be stored, so they were not used")
            raise
        # Read back without cache: proves the write landed and refreshes the store's cache (Powertools keeps one).
        if self._parse(self.store.read(fresh=True)).refresh_token != renewed.refresh_token:
            logger.warning("the secret store does not show the Gusto tokens just written to it")
        self._credentials = renewed
        metrics.add_metric(name="GustoTokenRefreshed", unit=MetricUnit.Count, value=1)
        logger.info(
            "stored the refreshed Gusto tokens",
            extra={"store": self.store.describe(), "expires_at": renewed.access_token_expires_at},
        )
        return answer.access_token.get_secret_value()

    def _request_tokens(self, credentials: GustoCredentials) -> TokenAnswer:
        return self._endpoint.request(
            {
                "grant_type": "refresh_token",
                "refresh_token": credentials.refresh_token.get_secret_value(),
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret.get_secret_value(),
            }
        )

    def _parse(self, raw: object) -> GustoCredentials:
        parsed: GustoCredentials = GustoCredentials.parse(raw, self.store.describe())
        return parsed

    def _left(self, credentials: GustoCredentials) -> float:
        expires = credentials.access_token_expires_at
        if expires is None:
            return 0.0
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return expires.timestamp() - self._clock()

    def _margin(self) -> float:
        # Tokens shorter-lived than twice the margin (simulators, tests) would otherwise be refreshed on every use.
        return min(REUSE_MARGIN, self._lifetime / 2) if self._lifetime else REUSE_MARGIN


class GustoAuth(httpx.Auth):
    """Bearer auth from the TokenManager: a 401 gets one refresh and one retry, never more."""

    # Read the 401 before refreshing: if the refresh fails, httpx would otherwise drop the connection with the
    # body unread, and the server sees a reset instead of a clean close.
    requires_response_body = True

    def __init__(self, tokens: TokenManager) -> None:
        self._tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._tokens.after_unauthorized(token)}"
            yield request
