"""The seeded Guru team: members, groups and their first memberships, and the records Guru shows for them.

Records are generated from their index on demand, and each group's first members are a `range` (evenly
spread member indexes), so a team of 100k members in 2k groups with 600k memberships costs almost nothing
to build or hold. A team may instead take its members from a directory (one organisation seen by both
simulators, organisation.py), and people invited later get the next indexes.
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..responses import json_bytes
from ..seeds import DEPARTMENTS, FIRST_NAMES, LAST_NAMES
from .auth import ADMIN_EMAIL, AUTHOR_EMAIL, COLLECTION_ID, Principal

ALL_MEMBERS = 0  # group index of the built-in "All Members" group
TEAM_NAME = "Example Team"

Record = dict[str, object]

_GENERATED_EMAIL = re.compile(r"[a-z]+\.[a-z]+(\d+)@example\.com")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEAM_CREATED_MS = 1_672_650_000_000  # 2023-01-02T09:00:00Z
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class MemberSpec:
    """A member a directory brings: its address (Guru's member id), its name and whether it is an invite."""

    email: str
    first_name: str
    last_name: str
    pending: bool = False


def guru_time(epoch_ms: int) -> str:
    """Guru's timestamp format: milliseconds and a colon-less +0000 offset."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}+0000"


def _group_sizes(total: int, groups: int, cap: int) -> list[int]:
    """Split `total` memberships over `groups` groups Zipf-like (a few large, many small), none over `cap`."""
    weights = [1.0 / (j + 1) for j in range(groups)]
    sizes = [0] * groups
    remaining = total
    growable = list(range(groups))
    while remaining:  # terminates: every pass grows at least one group, and total <= groups * cap
        weight = sum(weights[j] for j in growable)
        granted = 0
        for j in growable:
            share = min(cap - sizes[j], max(1, int(remaining * weights[j] / weight)), remaining - granted)
            sizes[j] += share
            granted += share
        remaining -= granted
        growable = [j for j in growable if sizes[j] < cap]
    return sizes


def _spread(rng: random.Random, size: int, members: int) -> range:
    """`size` members spread evenly from a random start: a formula, so it costs no memory per member."""
    if not size:
        return range(0)
    step = members // size
    start = rng.randrange(members - (size - 1) * step)
    return range(start, start + size * step, step)


class GeneratedTeam:
    """`members` members and `groups` groups, All Members (which holds everyone) included.

    Member 0 is the admin and member 1 the author. `memberships` counts only the other groups' members
    (by default three a member, as far as they fit); when `groups >= 3` the last group is empty. Every
    `pending_every`-th member (never the admin or the author) is an invited user whose status is PENDING.
    """

    def __init__(
        self,
        *,
        members: int,
        groups: int,
        memberships: int | None,
        pending_every: int,
        seed: int,
        directory: Sequence[MemberSpec] | None = None,
        also_in: Mapping[int, Sequence[int]] | None = None,
    ) -> None:
        """`directory` gives members 2, 3, … (then `members` is 2 + its length); `also_in` adds seeded
        memberships: group index → member indexes."""
        if directory is not None:
            members = 2 + len(directory)
        if members < 2:
            raise ValueError("members must be at least 2 (the admin and the author)")
        if groups < 1:
            raise ValueError("groups must be at least 1 (All Members)")
        if pending_every < 0:
            raise ValueError("pending_every must be 0 (none) or positive")
        filled_groups = groups - 2 if groups >= 3 else groups - 1
        capacity = filled_groups * members
        if memberships is None:
            memberships = min(3 * members, capacity)
        if not 0 <= memberships <= capacity:
            raise ValueError(f"memberships must be between 0 and {capacity} for this team")

        self.members = members
        self.pending_every = pending_every
        self.seed = seed
        self.directory = list(directory) if directory is not None else None
        self._directory_index = {spec.email.lower(): 2 + i for i, spec in enumerate(self.directory or [])}
        self._invited: list[str] = []  # members invited after seeding: indexes members, members + 1, …
        self._invited_index: dict[str, int] = {}
        self._pending_again: set[int] = set()  # seeded members removed, then invited again
        self._invite_lock = threading.Lock()
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://guru.sim.access-sync/{seed}")
        self.team_id = str(uuid.uuid5(self._namespace, "team"))
        self.group_ids = [str(uuid.uuid5(self._namespace, f"group:{g}")) for g in range(groups)]
        self.group_index = {gid: g for g, gid in enumerate(self.group_ids)}
        self.all_members_group_id = self.group_ids[ALL_MEMBERS]
        self._groups = [self._group_summary(g) for g in range(groups)]
        self._users: dict[int, Record] = {}
        self._encoded_members: dict[tuple[int, int], tuple[str | None, Record, bytes]] = {}

        rng = random.Random(seed)
        # Each group's first members, ascending.
        self.first_members: list[Sequence[int]] = [range(members)]
        self.first_members.extend(
            _spread(rng, size, members) for size in _group_sizes(memberships, filled_groups, members)
        )
        self.first_members.extend(range(0) for _ in range(groups - 1 - filled_groups))
        for group, extra in (also_in or {}).items():
            self.first_members[group] = sorted({*self.first_members[group], *extra})

    # ------------------------------------------------------------------ members

    def member_email(self, index: int) -> str:
        """The email (Guru's member id) of member `index`; 0 is the admin, 1 the author."""
        if index == 0:
            return ADMIN_EMAIL
        if index == 1:
            return AUTHOR_EMAIL
        if self.members <= index < self.members + len(self._invited):
            return self._invited[index - self.members]
        if not 0 <= index < self.members:
            raise IndexError(index)
        if self.directory is not None:
            return self.directory[index - 2].email
        first, last = self._names(index)
        return f"{first}.{last}{index}@example.com"

    def member_index(self, email: str) -> int | None:
        """The index of the team member with this email (case-insensitive), or None."""
        email = email.lower()
        if email == ADMIN_EMAIL:
            return 0
        if email == AUTHOR_EMAIL:
            return 1
        if email in self._invited_index:
            return self._invited_index[email]
        if self.directory is not None:
            return self._directory_index.get(email)
        match = _GENERATED_EMAIL.fullmatch(email)
        if match is None or len(match[1]) > 9:
            return None
        index = int(match[1])
        return index if 2 <= index < self.members and self.member_email(index) == email else None

    @property
    def size(self) -> int:
        """Every member index there has been: the seeded members and everyone invited since."""
        return self.members + len(self._invited)

    def invite(self, email: str) -> int:
        """The index of an invited person: a new one, or a former member's, now a pending invite again."""
        with self._invite_lock:
            index = self.member_index(email)
            if index is None:
                index = self.members + len(self._invited)
                self._invited.append(email.strip().lower())
                self._invited_index[email.strip().lower()] = index
            else:
                self._pending_again.add(index)
            self._users.pop(index, None)
            return index

    def is_pending(self, index: int) -> bool:
        if index >= self.members or index in self._pending_again:
            return True
        if self.directory is not None:
            return index >= 2 and self.directory[index - 2].pending
        return self.pending_every > 0 and index >= 2 and (index + 1) % self.pending_every == 0

    def pending_count(self) -> int:
        if self.directory is not None:
            return sum(spec.pending for spec in self.directory)
        if not self.pending_every:
            return 0
        # indexes i ≥ 2 with (i + 1) % n == 0: multiples of n in 3..members
        return self.members // self.pending_every - 2 // self.pending_every

    def _names(self, index: int) -> tuple[str, str]:
        mixed = (index * 2_654_435_761 + self.seed * 40_503) & 0xFFFFFFFF
        return FIRST_NAMES[mixed % len(FIRST_NAMES)], LAST_NAMES[(mixed >> 12) % len(LAST_NAMES)]

    def _member_created_ms(self, index: int) -> int:
        return _TEAM_CREATED_MS + index * 600_000 + index * 7_919 % 1000

    def _group_created_ms(self, group: int) -> int:
        return _TEAM_CREATED_MS + group * 3_600_000 + group * 104_729 % 1000

    # ------------------------------------------------------------------ records

    def user(self, index: int) -> Record:
        """A member's user record; rendered once and reused, as each appears in several listings."""
        cached = self._users.get(index)
        if cached is None:
            cached = self._users[index] = self._render_user(index)
        return cached

    def _render_user(self, index: int) -> Record:
        pending = self.is_pending(index)
        first: str | None
        last: str | None
        if index == 0:
            first, last = "Ada", "Admin"
        elif index == 1:
            first, last = "Arlo", "Author"
        elif index >= self.members:
            first, last = None, None  # an invite carries nothing but the address
        elif self.directory is not None:
            spec = self.directory[index - 2]
            first, last = spec.first_name, spec.last_name
        else:
            first, last = (name.capitalize() for name in self._names(index))
        return {
            "id": str(uuid.uuid5(self._namespace, f"user:{index}")),
            "email": self.member_email(index),
            "firstName": first,
            "lastName": last,
            "status": "PENDING" if pending else "ACTIVE",
            "userType": "USER",
        }

    def team_user(self, index: int, groups: list[int]) -> Record:
        """A `/members` entry: the member with the groups it is in."""
        if index == 0 or index % 25 == 0:
            role = "ADMIN"
        elif index == 1 or index % 4 == 0:
            role = "AUTHOR"
        else:
            role = "MEMBER"
        return {
            "id": self.member_email(index),
            "dateCreated": guru_time(self._member_created_ms(index)),
            "userAttributes": {"BILLING_TYPE": "CORE", "ACCESS_TYPE": "CORE"},
            "highestRole": role,
            "managedByScim": False,
            "user": self.user(index),
            "groups": [self._groups[g] for g in groups],
        }

    def group_member(self, group: int, member: int, joined: str | None) -> Record:
        """A `/groups/{id}/members` entry; `joined` is None for a seeded membership, dated from the seed."""
        if joined is None:
            since = max(self._member_created_ms(member), self._group_created_ms(group))
            joined = guru_time(since + (group * 7_919 + member * 104_729) % _DAY_MS)
        return {
            "id": self.member_email(member),
            "dateCreated": joined,
            "managedByScim": False,
            "user": self.user(member),
        }

    def group_member_json(self, group: int, member: int, joined: str | None) -> bytes:
        """`group_member`, encoded, and kept: every sync lists a large team's 600,000 memberships again, and
        rendering them was most of the CPU the simulator takes from the sync it serves on the same machine."""
        user = self.user(member)
        kept = self._encoded_members.get((group, member))
        if kept is not None and kept[0] == joined and kept[1] is user:  # a changed user is a new record
            return kept[2]
        encoded = json_bytes(self.group_member(group, member, joined))
        self._encoded_members[group, member] = (joined, user, encoded)
        return encoded

    def _group_summary(self, group: int) -> Record:
        if group == ALL_MEMBERS:
            name = "All Members"
        else:
            rank, base = divmod(group - 1, len(DEPARTMENTS))
            name = DEPARTMENTS[base] + (f" {rank + 1}" if rank else "")
        modifiable = group != ALL_MEMBERS
        return {
            "id": self.group_ids[group],
            "name": name,
            "groupIdentifier": name.lower().replace(" ", "-"),
            "dateCreated": guru_time(self._group_created_ms(group)),
            "modifiable": modifiable,
            "userModifiable": modifiable,
            "singleUser": False,
            "managedByScim": False,
        }

    def group(self, group: int, size: int) -> Record:
        """A `/groups` entry for a group of `size` members."""
        return {**self._groups[group], "numberOfMembers": size}

    def team(self) -> Record:
        return {
            "id": self.team_id,
            "name": TEAM_NAME,
            "status": "ACTIVE",
            "dateCreated": guru_time(_TEAM_CREATED_MS),
            "totalUsers": self.members,
            "allMembersGroupId": self.all_members_group_id,
        }

    def whoami(self, principal: Principal) -> Record:
        if principal == "collection":
            collection = {"id": COLLECTION_ID, "name": "Simulated Collection"}
            return {"team": self.team(), "tokenType": "COLLECTION", "collection": collection}
        return {
            "team": self.team(),
            "tokenType": "API",
            "user": self.user(0 if principal == "admin" else 1),
        }
