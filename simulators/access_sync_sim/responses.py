"""Building answers, for every simulator module, and ending a request early with one."""

from __future__ import annotations

import httpx
from pydantic_core import to_json


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return _json(status, json_bytes(body), headers)


def json_bytes(body: object) -> bytes:
    """`body` as compact UTF-8 JSON.

    pydantic-core renders a large page ten times faster than httpx's json encoding: the simulator shares the
    benchmark machine's cores with the sync it serves, and a real API's rendering costs the client nothing.
    """
    return to_json(body)


def json_list_response(status: int, items: list[bytes], headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON array of items already encoded (`json_bytes`): the same bytes as `json_response` of the list."""
    return _json(status, b"[" + b",".join(items) + b"]", headers)


def _json(status: int, content: bytes, headers: dict[str, str] | None) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"Content-Type": "application/json", **(headers or {})})


class Reject(Exception):
    """Ends request handling early with a ready response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
