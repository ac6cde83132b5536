"""Gusto's `page`/`per` paging: without `page` everything comes back at once; with it, one page plus X-* headers.

Records come already encoded as JSON (`encode`), so a record the simulator has rendered once costs nothing more.

`per` defaults to 25 and is capped at 100 (Gusto documents no cap; this one is the simulator's choice). Like
Rails paginators, junk or non-positive values fall back to the defaults rather than failing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import httpx

from ..responses import json_list_response

DEFAULT_PER = 25
MAX_PER = 100

_K = TypeVar("_K")


def paged(request: httpx.Request, keys: Sequence[_K], encode: Callable[[_K], bytes]) -> httpx.Response:
    """The listing of `keys`, each as its JSON, as the request's `page` and `per` ask."""
    params = request.url.params
    if "page" not in params:
        return json_list_response(200, [encode(key) for key in keys])
    page = _positive_int(params.get("page"), 1)
    per = min(_positive_int(params.get("per"), DEFAULT_PER), MAX_PER)
    total = len(keys)
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per),
        "X-Total-Count": str(total),
        "X-Total-Pages": str(math.ceil(total / per)),
    }
    return json_list_response(200, [encode(key) for key in keys[(page - 1) * per : page * per]], headers)


def _positive_int(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value >= 1 else default
