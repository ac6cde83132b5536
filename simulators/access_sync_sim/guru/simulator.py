"""`GuruSimulator`: the seeded team, its current memberships and the API, put together."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from ..base import Simulator
from ..faults import Faults
from ..limits import TokenBucket
from . import auth
from .data import TEAM_NAME, GeneratedTeam
from .memberships import Memberships
from .routes import GuruApi

if TYPE_CHECKING:
    from ..organisation import Organisation


class GuruSimulator(Simulator):
    """A deterministic Guru team served under `/api/v1` (a client's base URL is `<root>/api/v1`).

    Member 0 is the team admin (ADMIN_EMAIL, whose token may do everything) and member 1 an author
    (AUTHOR_EMAIL, 403 on listing members and groups). Group 0 is the unmodifiable "All Members" group,
    which always holds everyone. `groups` counts it; `memberships` counts only the other groups. When
    `groups >= 3` the last group is empty. Every `pending_every`-th member (never the admin or the
    author) is an invited user whose status is PENDING.
    """

    ADMIN_EMAIL = auth.ADMIN_EMAIL
    ADMIN_TOKEN = auth.ADMIN_TOKEN
    AUTHOR_EMAIL = auth.AUTHOR_EMAIL
    AUTHOR_TOKEN = auth.AUTHOR_TOKEN
    COLLECTION_ID = auth.COLLECTION_ID
    COLLECTION_TOKEN = auth.COLLECTION_TOKEN
    TEAM_NAME = TEAM_NAME

    def __init__(
        self,
        *,
        members: int = 40,
        groups: int = 6,
        memberships: int | None = None,
        pending_every: int = 10,
        latency: float = 0.0,
        faults: Faults | None = None,
        rate_limit_per_second: float | None = None,
        send_retry_after: bool = False,
        seed: int = 1,
        clock: Callable[[], float] = time.monotonic,
        organisation: Organisation | None = None,
    ) -> None:
        """With `organisation`, the members are that organisation's Guru accounts (`members` and
        `pending_every` no longer apply), and its leavers are in groups."""
        super().__init__(latency=latency, faults=faults)
        if rate_limit_per_second is not None and rate_limit_per_second <= 0:
            raise ValueError("rate_limit_per_second must be positive")
        self.team = GeneratedTeam(
            members=members,
            groups=groups,
            memberships=memberships,
            pending_every=pending_every,
            seed=seed,
            directory=organisation.guru_directory() if organisation else None,
            also_in=organisation.leaver_groups(groups) if organisation else None,
        )
        self.memberships = Memberships(self.team)
        rate_limit = TokenBucket(rate_limit_per_second, clock) if rate_limit_per_second else None
        self.api = GuruApi(self.memberships, rate_limit, send_retry_after=send_retry_after)
        self.team_id = self.team.team_id
        self.all_members_group_id = self.team.all_members_group_id
        self.mutations = self.memberships.mutations  # (method, group id, email) of each provisioning change

    def route(self, request: httpx.Request) -> httpx.Response:
        return self.api.answer(request)

    def prerender(self) -> None:
        """Encodes every group membership now, so that serving the group lists later costs only the copying."""
        for group in range(len(self.team.group_ids)):
            self.api.group_members(group, self.memberships.members_of(group))

    # ------------------------------------------------------------------ introspection for tests

    def member_email(self, index: int) -> str:
        """The email (Guru's member id) of member `index`; 0 is the admin, 1 the author."""
        return self.team.member_email(index)

    def member_index(self, email: str) -> int | None:
        """The index of the team member with this email (case-insensitive), or None."""
        return self.team.member_index(email)

    def group_ids(self) -> list[str]:
        """Every group's id, All Members first and the empty group (if any) last."""
        return list(self.team.group_ids)

    def group_member_emails(self, gid: str) -> list[str]:
        """The current members of group `gid`, in the order Guru pages them."""
        members = self.memberships.members_of(self.team.group_index[gid])
        return [self.team.member_email(m) for m in members]

    def is_member(self, gid: str, email: str) -> bool:
        """Whether `email` is currently in group `gid`; KeyError for an unknown group."""
        group = self.team.group_index[gid]
        index = self.team.member_index(email)
        return index is not None and self.memberships.contains(group, index)

    def outsiders(self, count: int, members: int = 40) -> list[tuple[str, str]]:
        """`count` different (group id, member email) pairs, not All Members, whose member (one of the first
        `members`) is not in the group: what a grant of group membership would change."""
        pairs = (
            (gid, self.member_email(i))
            for gid in self.group_ids()[1:]
            for i in range(2, members)
            if not self.is_member(gid, self.member_email(i))
        )
        return [pair for pair, _ in zip(pairs, range(count), strict=False)]

    def on_team(self, email: str) -> bool:
        """Whether `email` is on the team now (an invite counts)."""
        index = self.team.member_index(email)
        return index is not None and self.memberships.on_team(index)

    def team_emails(self) -> list[str]:
        """Everyone on the team now, in the order /members pages them."""
        return [self.team.member_email(index) for index in self.memberships.roster()]

    def groups_of(self, email: str) -> list[str]:
        """The ids of the groups `email` is in now (All Members included); empty when not on the team."""
        index = self.team.member_index(email)
        if index is None:
            return []
        (groups,) = self.memberships.groups_of([index])
        return [self.team.group_ids[group] for group in groups]

    def expected_counts(self) -> dict[str, int]:
        """What a full sync should find now.

        `memberships` counts every pair that `/groups/{gid}/members` lists, All Members included;
        `modifiable_memberships` leaves All Members out (the `memberships` constructor argument).
        """
        everyone = self.memberships.total()
        team = self.memberships.roster()
        untouched = isinstance(team, range) and len(team) == self.team.members
        pending = self.team.pending_count() if untouched else sum(map(self.team.is_pending, team))
        return {
            "users": len(team),
            "pending_users": pending,
            "groups": len(self.team.group_ids),
            "memberships": everyone,
            "modifiable_memberships": everyone - len(team),
        }
