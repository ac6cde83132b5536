"""Who is in which group now, and who is on the team: the seeded memberships, changed by provisioning, safe
for concurrent readers.

The team is the All Members group: an invite adds the person to it, a removal from the team takes the
member out of every group.

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

from .data import ALL_MEMBERS, GeneratedTeam, guru_time


class Memberships:
    """Each group's members, ascending; `mutations` logs each change as (method, group id, email), and each
    team change as ("INVITE" or "DELETE", "team", email)."""

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

    def on_team(self, member: int) -> bool:
        return self.contains(ALL_MEMBERS, member)

    def roster(self) -> Sequence[int]:
        """Everyone on the team now, ascending."""
        return self._members_of[ALL_MEMBERS]

    def groups_of(self, members: Sequence[int]) -> list[list[int]]:
        """The groups of each of `members`, from an index built on first use."""
        with self._lock:
            index = self._groups_index()
            return [index[member] for member in members]

    def _groups_index(self) -> list[list[int]]:
        """Under `self._lock`: member → its groups, covering every member index there has been."""
        if self._groups_by_member is None:
            index: list[list[int]] = [[] for _ in range(self.team.size)]
            for group, members in enumerate(self._members_of):
                for member in members:
                    index[member].append(group)
            self._groups_by_member = index
        self._groups_by_member.extend([] for _ in range(self.team.size - len(self._groups_by_member)))
        return self._groups_by_member

    def invite(self, email: str) -> int | None:
        """Puts `email` on the team as a pending invite; None when it is on the team already."""
        with self._lock:
            known = self.team.member_index(email)
            if known is not None and self.on_team(known):
                return None
            member = self.team.invite(email)
            self._groups_index()
            self._change(ALL_MEMBERS, member, joined=True, log=False)
            self.mutations.append(("INVITE", "team", self.team.member_email(member)))
            return member

    def remove_from_team(self, member: int) -> bool:
        """Takes the member out of every group, All Members included; False when not on the team."""
        with self._lock:
            if not self.on_team(member):
                return False
            for group in list(self._groups_index()[member]):
                self._change(group, member, joined=False, log=False)
            self.mutations.append(("DELETE", "team", self.team.member_email(member)))
            return True

    def add(self, group: int, members: Sequence[int]) -> None:
        """Adds `members` to `group` at once; an existing membership is left alone."""
        with self._lock:
            for member in members:
                self._change(group, member, joined=True)

    def remove(self, group: int, member: int) -> bool:
        """False when `member` was not in the group."""
        with self._lock:
            return self._change(group, member, joined=False)

    def _change(self, group: int, member: int, joined: bool, log: bool = True) -> bool:
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
        if log:
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
