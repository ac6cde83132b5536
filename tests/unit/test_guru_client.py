"""Guru's API as the client sees it: Link paging, empty pages, errors in plain words, host pinning."""

from __future__ import annotations

import httpx
import pytest

from access_sync.connectors.guru.client import GuruClient, next_page_url
from access_sync.errors import CredentialsError
from access_sync.models.secrets import GuruCredentials

CREDS = GuruCredentials(user_email="admin@example.com", api_token="tok-secret-123")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            '< https://api.getguru.com/api/v1/members?token=abc >; rel="next-page"',
            "https://api.getguru.com/api/v1/members?token=abc",
        ),
        ('<https://x.test/m?token=1>; rel="next-page"', "https://x.test/m?token=1"),
        ("<https://x.test/m?token=2>; rel=next", "https://x.test/m?token=2"),
        ('<https://x.test/prev>; rel="prev", <https://x.test/next>; rel="next-page"', "https://x.test/next"),
        ("< https://x.test/only >", "https://x.test/only"),
        (None, None),
        ("", None),
    ],
)
def test_next_page_url_reads_guru_link_headers(header: str | None, expected: str | None) -> None:
    assert next_page_url(header) == expected


def client_answering(*responses: httpx.Response) -> GuruClient:
    queue = list(responses)
    return GuruClient(
        CREDS,
        "https://api.getguru.com/api/v1",
        transport=httpx.MockTransport(lambda request: queue.pop(0)),
        sleep=lambda _: None,
    )


def test_a_204_is_an_empty_last_page() -> None:
    assert client_answering(httpx.Response(204)).page("groups/g1/members") == ([], None)


def test_a_page_without_link_header_is_the_last() -> None:
    items, url = client_answering(httpx.Response(200, json=[{"id": "a@x.com"}])).page("members")
    assert items == [{"id": "a@x.com"}] and url is None


def test_wrong_credentials_become_one_sentence_without_the_token() -> None:
    client = client_answering(httpx.Response(401, json={"message": "Request was unauthorized"}))
    with pytest.raises(CredentialsError) as caught:
        client.page("members")
    assert "user email and API token" in caught.value.message
    assert "tok-secret-123" not in str(caught.value)


def test_forbidden_says_the_token_owner_needs_admin_rights() -> None:
    with pytest.raises(CredentialsError, match="must be a Guru admin"):
        client_answering(httpx.Response(403, json={"message": "Forbidden access to team"})).page("members")


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.test/api/v1/members?token=abc",
        "/api/v1/members?token=abc",
        "https://api.getguru.com/api/v1/members?token=abc",
    ],
)
def test_next_page_links_always_go_to_the_configured_host(link: str) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        headers = {"Link": f'<{link}>; rel="next-page"'} if len(seen) == 1 else {}
        return httpx.Response(200, json=[], headers=headers)

    client = GuruClient(CREDS, "https://api.getguru.com/api/v1", transport=httpx.MockTransport(answer))
    list(client.pages("members"))
    assert seen == ["https://api.getguru.com/api/v1/members", "https://api.getguru.com/api/v1/members?token=abc"]


def test_credentials_travel_as_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    GuruClient(CREDS, "https://api.getguru.com/api/v1", transport=httpx.MockTransport(answer)).page("members")
    assert seen[0].headers["Authorization"] == httpx.BasicAuth("admin@example.com", "tok-secret-123")._auth_header
