"""Guru's paging: a bare array a page, and a `Link: < URL >; rel="next-page"` header while more remain.

The `token` in the next page's URL is opaque and tamper-proof: it carries the offset and the listing it
belongs to, signed with a key derived from the seed; an altered or foreign token answers 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence

import httpx

from ..responses import json_list_response
from .errors import BAD_PAGING_TOKEN, error

MEMBERS_PAGE_SIZE = 50
GROUP_MEMBERS_PAGE_SIZE = 100


class Pager:
    """Pages listings with tokens signed for one simulated team."""

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"guru-sim-paging:{seed}".encode()).digest()

    def page(
        self,
        request: httpx.Request,
        scope: str,
        items: Sequence[int],
        page_size: int,
        render: Callable[[Sequence[int]], list[bytes]],
    ) -> httpx.Response:
        """One page of `items` as a bare array, with a `rel="next-page"` Link while more remain; `render` encodes
        a page's items (`json_bytes`)."""
        token = request.url.params.get("token")
        offset = 0 if token is None else self._decode(token, scope)
        if offset is None:
            return error(400, BAD_PAGING_TOKEN)
        headers = {}
        if offset + page_size < len(items):
            next_url = request.url.copy_set_param("token", self._encode(scope, offset + page_size))
            headers["Link"] = f'< {next_url} >; rel="next-page"'
        return json_list_response(200, render(items[offset : offset + page_size]), headers)

    def _mac(self, scope: str, offset: int) -> str:
        return hmac.new(self._key, f"{scope}\n{offset}".encode(), hashlib.sha256).hexdigest()[:20]

    def _encode(self, scope: str, offset: int) -> str:
        payload = {"s": scope, "o": offset, "c": self._mac(scope, offset)}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

    def _decode(self, token: str, scope: str) -> int | None:
        """The offset a token of this listing carries; None if it was altered or belongs elsewhere."""
        try:
            padded = token + "=" * (-len(token) % 4)
            payload = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        offset, mac = payload.get("o"), payload.get("c")
        if type(offset) is not int or offset < 0 or payload.get("s") != scope or not isinstance(mac, str):
            return None
        return offset if hmac.compare_digest(mac, self._mac(scope, offset)) else None
