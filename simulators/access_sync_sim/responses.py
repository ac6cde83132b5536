"""Building answers, for every simulator module, and ending a request early with one."""

from __future__ import annotations

import httpx


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


class Reject(Exception):
    """Ends request handling early with a ready response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
