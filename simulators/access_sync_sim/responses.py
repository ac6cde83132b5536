"""Building answers, for every simulator module, and ending a request early with one."""

from __future__ import annotations

import httpx
import orjson


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    # orjson renders a large page ten times faster than httpx's json encoding: the simulator shares the
    # benchmark machine's cores with the sync it serves, and a real API's rendering costs the client nothing.
    return httpx.Response(
        status, content=orjson.dumps(body), headers={"Content-Type": "application/json", **(headers or {})}
    )


class Reject(Exception):
    """Ends request handling early with a ready response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
