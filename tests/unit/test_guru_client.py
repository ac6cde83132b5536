"""Guru's API as the client sees it: Link paging, empty pages, errors in plain words, host pinning."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from access_sync.connectors.guru.client import GuruClient, ListPage, next_page_url
from access_sync.errors import CredentialsError, UpstreamError
from access_sync.models.secrets import GuruCredentials
from access_sync_sim.guru import GuruSimulator

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


def test_pages_read_after_the_next_request_went_out_still_hold_their_own_members() -> None:
    """Over real HTTP: each page's next request is sent before its body is read, as a sync does."""
    sim = GuruSimulator(members=120, groups=2)
    with sim.serve() as root:
        admin = GuruCredentials(user_email=sim.ADMIN_EMAIL, api_token=sim.ADMIN_TOKEN)
        client = GuruClient(admin, f"{root}/api/v1")
        unread: list[ListPage] = []
        url: str | None = "members"
        while url:
            page, url = client.unread_page(url)
            unread.append(page)
        members = [member["id"] for page in reversed(unread) for member in reversed(page.items())]
        client.close()
    assert len(unread) == 3
    assert sorted(members) == sorted(sim.member_email(i) for i in range(120))


class CutOff(httpx.SyncByteStream):
    """A body that ends in the middle, as when a connection drops after the headers."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'[{"id": "a@x'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def test_a_page_whose_body_is_cut_off_after_its_headers_is_fetched_again() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        headers = {"Link": '<https://api.getguru.com/api/v1/members?token=2>; rel="next-page"'}
        if len(seen) == 1:
            return httpx.Response(200, headers=headers, stream=CutOff())
        return httpx.Response(200, headers=headers, json=[{"id": "a@x.com"}])

    client = GuruClient(CREDS, "https://api.getguru.com/api/v1", transport=httpx.MockTransport(answer))
    page, url = client.unread_page("members")
    assert url == "https://api.getguru.com/api/v1/members?token=2"
    assert page.items() == [{"id": "a@x.com"}]
    assert seen == ["https://api.getguru.com/api/v1/members"] * 2


def test_an_error_answer_to_an_unread_page_still_says_what_guru_said() -> None:
    with pytest.raises(UpstreamError, match="Guru answered 400 to GET /api/v1/members: token expired"):
        client_answering(httpx.Response(400, json={"message": "token expired"})).unread_page("members")
