"""The id formats every snapshot, request and finding uses, built and parsed here only (docs/snapshot-format.md).

| what        | form                                               | example                                   |
|-------------|----------------------------------------------------|-------------------------------------------|
| resource    | `<resource type>:<id>`                             | `user:ann@example.com`                    |
| entitlement | `<resource type>:<resource id>:<slug>`             | `group:7c1e…:member`                      |
| grant       | `<entitlement id>:<principal type>:<principal id>` | `group:7c1e…:member:user:ann@example.com` |

Resource types, slugs and principal types never contain a colon; resource and principal ids may (and
Guru's member ids are email addresses). Parsing therefore takes the resource type from the front, the
slug (known to the caller) from around the middle, and leaves every colon inside an id where it was.

The end of a time-bound grant (docs/provisioning.md) is named from the grant alone, so that a later end of
the same access replaces it, and its revoke request from the grant and the end, so that each end is carried
out once: `expire-<first 32 hex of sha256(grant id)>` and `expire:<first 32 hex of sha256(grant id|end)>`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import NamedTuple


class EntitlementKey(NamedTuple):
    resource_type: str
    resource_id: str
    slug: str

    def __str__(self) -> str:
        return entitlement_id(self.resource_type, self.resource_id, self.slug)


class GrantKey(NamedTuple):
    entitlement: EntitlementKey
    principal_type: str
    principal_id: str

    def __str__(self) -> str:
        return grant_id(str(self.entitlement), self.principal_type, self.principal_id)


def resource_key(resource_type: str, resource_id: str) -> str:
    return f"{resource_type}:{resource_id}"


def parse_resource_key(value: str) -> tuple[str, str] | None:
    """`<resource type>:<id>` → (resource type, id); the id keeps any colons it has. None without both parts."""
    resource_type, colon, resource_id = value.partition(":")
    return (resource_type, resource_id) if colon and resource_type and resource_id else None


def entitlement_id(resource_type: str, resource_id: str, slug: str) -> str:
    return f"{resource_type}:{resource_id}:{slug}"


def grant_id(entitlement: str, principal_type: str, principal_id: str) -> str:
    return f"{entitlement}:{principal_type}:{principal_id}"


def parse_entitlement_id(value: str, resource_type: str, slug: str) -> EntitlementKey | None:
    """`<resource_type>:<id>:<slug>` with a non-empty id, else None."""
    head, tail = f"{resource_type}:", f":{slug}"
    if not value.startswith(head) or not value.endswith(tail) or len(value) <= len(head) + len(tail):
        return None
    return EntitlementKey(resource_type, value[len(head) : -len(tail)], slug)


def parse_grant_id(value: str, resource_type: str, slug: str, principal_types: Collection[str]) -> GrantKey | None:
    """`<resource_type>:<id>:<slug>:<principal type>:<principal id>`, else None.

    The first `:<slug>:<principal type>:` after the resource type ends the resource id, so an id may hold
    colons as long as it does not hold that exact sequence.
    """
    head = f"{resource_type}:"
    if not value.startswith(head):
        return None
    best: GrantKey | None = None
    for principal_type in principal_types:
        marker = f":{slug}:{principal_type}:"
        at = value.find(marker, len(head))
        if at < 0:
            continue
        principal_id = value[at + len(marker) :]
        resource_id = value[len(head) : at]
        if not resource_id or not principal_id:
            continue
        if best is None or at < len(head) + len(best.entitlement.resource_id):
            best = GrantKey(EntitlementKey(resource_type, resource_id, slug), principal_type, principal_id)
    return best


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def grant_end_name(grant: str) -> str:
    """The name of a grant's pending end (the EventBridge schedule, or the local record's file name)."""
    return f"expire-{_digest(grant)}"


def grant_end_request_id(grant: str, expires_at: str) -> str:
    """The request_id of the revoke that ends `grant` at `expires_at` (written YYYY-MM-DDTHH:MM:SSZ)."""
    return f"expire:{_digest(f'{grant}|{expires_at}')}"
