"""Guru's HTTP Basic auth: a user's email or a collection's id, with its API token.

The admin's token may do everything; the author's and the collection's may not list or change members
and groups (an undocumented corner of Guru, answered 403 here).
"""

from __future__ import annotations

import base64
from typing import Literal

import httpx

ADMIN_EMAIL = "admin@example.com"
ADMIN_TOKEN = "sim-guru-admin-token-7f3a"
AUTHOR_EMAIL = "author@example.com"
AUTHOR_TOKEN = "sim-guru-author-token-2c9d"
COLLECTION_ID = "0c011ec7-0000-4000-8000-00000000c0de"
COLLECTION_TOKEN = "sim-guru-collection-token-5e1b"

Principal = Literal["admin", "author", "collection"]

_CREDENTIALS: dict[tuple[str, str], Principal] = {
    (ADMIN_EMAIL, ADMIN_TOKEN): "admin",
    (AUTHOR_EMAIL, AUTHOR_TOKEN): "author",
    (COLLECTION_ID.lower(), COLLECTION_TOKEN): "collection",
}


def authenticate(request: httpx.Request) -> Principal | None:
    """Who the request's Basic credentials belong to (the user part in any letter case), or None."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, token = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except ValueError:
        return None
    return _CREDENTIALS.get((user.lower(), token))
