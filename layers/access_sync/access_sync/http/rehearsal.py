"""A transport for dry runs: reads go to the real API, and nothing else ever leaves the process.

Every request that is not a GET, HEAD or OPTIONS is stopped here and raised as `WriteHeld`, carrying what
would have been sent (method, path, body with secrets masked). A dry run cannot change anything through a
client built on this transport, whatever the connector's code does: the write never reaches the network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx

READS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECRET_NAME = re.compile(r"token|secret|password|authorization|api_key", re.IGNORECASE)
MASK = "***"


@dataclass(frozen=True)
class HeldCall:
    method: str
    path: str
    body: Any = None  # the JSON or form body, secrets masked; None when there is none


class WriteHeld(Exception):
    """A change a dry run would have sent. Deliberately not an AccessSyncError, so that no handler of API
    errors takes it for an answer from the service."""

    def __init__(self, call: HeldCall) -> None:
        super().__init__(f"{call.method} {call.path}")
        self.call = call


def masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: MASK if _SECRET_NAME.search(str(key)) else masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _body(request: httpx.Request) -> Any:
    content = request.read()
    if not content:
        return None
    kind = request.headers.get("Content-Type", "")
    if "application/x-www-form-urlencoded" in kind:
        return masked(dict(parse_qsl(content.decode("utf-8", "replace"))))
    try:
        return masked(json.loads(content))
    except ValueError:
        return f"<{len(content)} bytes>"


class RehearsalTransport(httpx.BaseTransport):
    def __init__(self, reads: httpx.BaseTransport | None = None) -> None:
        self.reads = reads or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method.upper() in READS:
            return self.reads.handle_request(request)
        path = request.url.raw_path.decode("ascii", "replace")
        raise WriteHeld(HeldCall(request.method.upper(), path, _body(request)))

    def close(self) -> None:
        self.reads.close()
