"""Who is in which group now: the seeded memberships, changed by provisioning, safe for concurrent readers.

The first change to a group turns its `range` into a sorted `array('i')`; later changes replace that
array copy-on-write, so readers never see a half-made change. The groups embedded in a `/members` page
come from a member → groups index built on first use, and kept in step the same way. The dates of added
memberships are kept aside.
"""

from __future__ import annotations

import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Sequence

from .data import GeneratedTeam, guru_time


class Memberships:
    """Each group's members, ascending; `mutations` logs each change as (method, group id, email)."""

    def __init__(self, team: GeneratedTeam) -> None:
        self.team = team
        self.mutations: list[tuple[str, str, str]] = []
        self._members_of: list[Sequence[int]] = list(team.first_members)
        self._lock = threading.Lock()
        self._groups_by_member: list[list[int]] | None = None
        self._joined_at: dict[tuple[int, int], str] = {}

    def members_of(self, group: int) -> Sequence[int]:
        return self._members_of[group]

    def contains(self, group: int, member: int) -> bool:
        return _locate(self._members_of[group], member)[1]

    def total(self) -> int:
        """Every (group, member) pair, All Members included."""
        return sum(len(members) for members in self._members_of)

    def joined_at(self, group: int, member: int) -> str | None:
        """When provisioning added this membership; None for a seeded one."""
        return self._joined_at.get((group, member))

    def groups_of(self, start: int, stop: int) -> list[list[int]]:
        """The groups of members `start`..`stop - 1`, from an index built on first use."""
        with self._lock:
            if self._groups_by_member is None:
                index: list[list[int]] = [[] for _ in range(self.team.members)]
                for group, members in enumerate(self._members_of):
                    for member in members:
                        index[member].append(group)
                self._groups_by_member = index
            return self._groups_by_member[start:stop]

    def add(self, group: int, members: Sequence[int]) -> None:
        """Adds `members` to `group` at once; an existing membership is left alone."""
        with self._lock:
            for member in members:
                self._change(group, member, joined=True)

    def remove(self, group: int, member: int) -> bool:
        """False when `member` was not in the group."""
        with self._lock:
            return self._change(group, member, joined=False)

    def _change(self, group: int, member: int, joined: bool) -> bool:
        """Adds or removes one membership under `self._lock`; False when there was nothing to do."""
        members = self._members_of[group]
        pos, present = _locate(members, member)
        if present == joined:
            return False
        changed = array("i", members)
        if joined:
            changed.insert(pos, member)
        else:
            del changed[pos]
        self._members_of[group] = changed
        self._reindex(member, group, joined)
        if joined:
            self._joined_at[(group, member)] = guru_time(time.time_ns() // 1_000_000)
        else:
            self._joined_at.pop((group, member), None)
        self.mutations.append(
            ("POST" if joined else "DELETE", self.team.group_ids[group], self.team.member_email(member))
        )
        return True

    def _reindex(self, member: int, group: int, joined: bool) -> None:
        """Keeps the member → groups index in step; lists are replaced, never edited, so readers stay safe."""
        if self._groups_by_member is None:
            return
        current = self._groups_by_member[member]
        self._groups_by_member[member] = sorted({*current, group} if joined else set(current) - {group})


def _locate(members: Sequence[int], member: int) -> tuple[int, bool]:
    """Where `member` is, or would go, in the ascending `members`; and whether it is there."""
    pos = bisect_left(members, member)
    return pos, pos < len(members) and members[pos] == member
