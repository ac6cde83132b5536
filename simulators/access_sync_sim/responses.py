"""Building answers, for every simulator module, and ending a request early with one."""

from __future__ import annotations

import httpx
from pydantic_core import to_json


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    # pydantic-core renders a large page ten times faster than httpx's json encoding: the simulator shares the
    # benchmark machine's cores with the sync it serves, and a real API's rendering costs the client nothing.
    return httpx.Response(
        status, content=to_json(body), headers={"Content-Type": "application/json", **(headers or {})}
    )


def json_bytes(body: object) -> bytes:
    """`body` encoded exactly as `json_response` encodes it (compact UTF-8 JSON)."""
    return to_json(body)


def json_list_response(status: int, items: list[bytes], headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON array of items already encoded (`json_bytes`): the same bytes as `json_response` of the list."""
    content = b"[" + b",".join(items) + b"]"
    return httpx.Response(status, content=content, headers={"Content-Type": "application/json", **(headers or {})})


class Reject(Exception):
    """Ends request handling early with a ready response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
