"""Gusto's token endpoint (`POST /oauth/token`), for the code exchange of `connect` and for refreshes alike.

The grant goes in a form body (Gusto refuses a client secret in the query string), the answer must be a
Bearer token, and RFC 6749's error codes become the library's errors here, once: each caller only says
what `invalid_grant` and `invalid_client` mean for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from access_sync.errors import AccessSyncError, ConfigurationError, UpstreamError
from access_sync.http.client import ApiClient

TOKEN_PATH = "oauth/token"


class TokenAnswer(BaseModel):
    """The endpoint's JSON; `created_at` is ignored: expiry counts from our own clock."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_in: float = 7200.0
    token_type: str = "Bearer"


def not_gusto(what: str) -> str:
    """The sentence for a base URL that answers like something other than Gusto's API."""
    return (
        f"The Gusto base URL {what}, so it does not look like Gusto's API: use https://api.gusto.com or "
        "https://api.gusto-demo.com (no path), or fix --base-url or GUSTO_BASE_URL."
    )


def oauth_error_code(response: httpx.Response) -> str:
    """RFC 6749's `error` field of a token endpoint answer (e.g. invalid_grant), or "" when there is none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error") or "") if isinstance(body, dict) else ""


class TokenEndpoint:
    """One grant type's view of the endpoint: its error sentences, and what a usable answer must carry."""

    def __init__(
        self,
        base_url: str,
        *,
        invalid_grant: Callable[[], AccessSyncError],
        invalid_client: Callable[[], AccessSyncError],
        other_error: str = ".",
        unusable: str = "Gusto's token endpoint answered without a usable Bearer access token.",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._invalid_grant, self._invalid_client = invalid_grant, invalid_client
        self._other_error, self._unusable = other_error, unusable
        # Few, short retries: a refresh holds the lease meanwhile, and a code expires within minutes. A POST is
        # never repeated once it may have arrived, which matters as a code or a refresh token works only once.
        self._api = ApiClient(
            "Gusto",
            base_url,
            transport=transport,
            timeout=timeout,
            max_attempts=3,
            max_retry_seconds=20.0,
            error_mapper=self._error,
            sleep=sleep,
        )

    def request(self, form: dict[str, str]) -> TokenAnswer:
        response = self._api.send("POST", TOKEN_PATH, data=form)
        self._api.json(response)  # not JSON at all: not Gusto's token endpoint
        try:
            answer = TokenAnswer.model_validate_json(response.content)
        except ValidationError:
            raise UpstreamError(self._unusable) from None
        if answer.token_type.lower() != "bearer":
            raise UpstreamError(self._unusable)
        return answer

    def close(self) -> None:
        self._api.close()

    def _error(self, response: httpx.Response) -> AccessSyncError:
        code = oauth_error_code(response)
        if code == "invalid_grant":
            return self._invalid_grant()
        if code == "invalid_client":
            return self._invalid_client()
        if not code and 400 <= response.status_code < 500:
            # Gusto's token endpoint names an RFC 6749 error code with every refusal.
            request = response.request
            return ConfigurationError(
                not_gusto(f"answered {response.status_code} to {request.method} {request.url.path} with no OAuth error")
            )
        answered = f"Gusto's token endpoint answered {response.status_code} ({code or 'no OAuth error code'})"
        return UpstreamError(
            answered + self._other_error,
            status=response.status_code,
        )
