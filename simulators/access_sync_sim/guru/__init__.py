"""Simulated Guru REST API, faithful to Guru's published behaviour.

It reproduces HTTP Basic auth with user and collection tokens, bare-array list bodies with Link-header
paging (`< URL >; rel="next-page"`, opaque tamper-proof tokens, 50 members or 100 group members a page),
204 No Content for an empty group, the built-in "All Members" group, adding and removing group members,
and Guru's error messages. On top, for tests: deterministic teams of any size, optional rate limiting,
latency and faults, and introspection of the current memberships. One module a job:

- `auth`: the simulated credentials and Basic auth;
- `data`: the team generated deterministically from the seed, and the records Guru shows for it;
- `memberships`: who is in which group now, changed by provisioning, thread-safe;
- `paging`: Link-header paging with signed tokens;
- `routes`: the `/api/v1` handlers, with `errors` (Guru's messages);
- `simulator`: `GuruSimulator`, which puts them together.

Counting, fault injection, latency and serving are shared with the other simulator (`access_sync_sim.base`).
"""

from .data import ALL_MEMBERS
from .errors import (
    BAD_PAGING_TOKEN,
    BAD_REQUEST,
    FORBIDDEN_GROUP,
    FORBIDDEN_TEAM,
    MEMBER_NOT_FOUND,
    NOT_FOUND,
    UNAUTHORIZED,
)
from .paging import GROUP_MEMBERS_PAGE_SIZE, MEMBERS_PAGE_SIZE
from .routes import API_PREFIX
from .simulator import GuruSimulator

__all__ = [
    "ALL_MEMBERS",
    "API_PREFIX",
    "BAD_PAGING_TOKEN",
    "BAD_REQUEST",
    "FORBIDDEN_GROUP",
    "FORBIDDEN_TEAM",
    "GROUP_MEMBERS_PAGE_SIZE",
    "MEMBERS_PAGE_SIZE",
    "MEMBER_NOT_FOUND",
    "NOT_FOUND",
    "UNAUTHORIZED",
    "GuruSimulator",
]
