"""Guru's REST API under `/api/v1`: the optional rate limit, who may do what, and the handlers.

Where Guru is undocumented: adding an email that is not on the team answers 400
{"message": "User must be a team member: <email>"} and adds nobody (the legacy SDK reports add-member
batches as all-or-nothing); a 429 carries `Retry-After` only when asked for (`send_retry_after=True`).
`POST /members/invite` answers 200 with the invited members' `/members` entries (pending), and 400
{"message": "User is already a team member: <email>"} when one of them is on the team, inviting nobody;
`DELETE /members/{email}` answers 204, or 404 {"message": "Team member could not be found"}.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from urllib.parse import unquote

import httpx

from ..limits import TokenBucket
from ..responses import Reject, json_bytes, json_list_response, json_response
from .auth import Principal, authenticate
from .data import ALL_MEMBERS, Record
from .errors import (
    BAD_REQUEST,
    FORBIDDEN_GROUP,
    FORBIDDEN_TEAM,
    MEMBER_NOT_FOUND,
    NOT_FOUND,
    TEAM_MEMBER_NOT_FOUND,
    UNAUTHORIZED,
    error,
)
from .memberships import Memberships
from .paging import GROUP_MEMBERS_PAGE_SIZE, MEMBERS_PAGE_SIZE, Pager

API_PREFIX = "/api/v1/"


class GuruApi:
    """Answers every request to the simulated Guru."""

    def __init__(self, memberships: Memberships, rate_limit: TokenBucket | None, *, send_retry_after: bool) -> None:
        self.team = memberships.team
        self.memberships = memberships
        self._limiter = rate_limit
        self._send_retry_after = send_retry_after
        self._pager = Pager(self.team.seed)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self._limiter is not None and (wait := self._limiter.take()) > 0:
            headers = {"Retry-After": str(math.ceil(wait))} if self._send_retry_after else None
            return json_response(429, {"message": "Too many requests"}, headers)
        path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        if not path.startswith(API_PREFIX):
            return error(404, NOT_FOUND)
        principal = authenticate(request)
        if principal is None:
            return error(401, UNAUTHORIZED)
        segments = [unquote(part) for part in path[len(API_PREFIX) :].rstrip("/").split("/")]
        try:
            return self._dispatch(request, principal, segments)
        except Reject as reject:
            return reject.response

    def _dispatch(self, request: httpx.Request, principal: Principal, segments: list[str]) -> httpx.Response:
        team = self.team
        match request.method, segments:
            case "GET", ["whoami"]:
                return json_response(200, team.whoami(principal))
            case "GET", ["teams"]:
                return json_response(200, [team.team()])
            case "GET", ["members"]:
                _require_admin(principal, FORBIDDEN_TEAM)
                members = self.memberships.roster()
                return self._pager.page(request, "members", members, MEMBERS_PAGE_SIZE, self._encoded_team_users)
            case "GET", ["members", email]:
                _require_admin(principal, FORBIDDEN_TEAM)
                return self._get_member(email)
            case "POST", ["members", "invite"]:
                _require_admin(principal, FORBIDDEN_TEAM)
                return self._invite(request)
            case "DELETE", ["members", email]:
                _require_admin(principal, FORBIDDEN_TEAM)
                return self._remove_from_team(email)
            case "GET", ["groups"]:
                _require_admin(principal, FORBIDDEN_TEAM)
                groups = range(len(team.group_ids))
                return json_response(200, [team.group(g, len(self.memberships.members_of(g))) for g in groups])
            case "GET", ["groups", gid, "members"]:
                return self._list_group_members(request, gid, self._group(principal, gid))
            case "POST", ["groups", gid, "members"]:
                return self._add_members(request, self._group(principal, gid, modify=True))
            case "DELETE", ["groups", gid, "members", email]:
                return self._remove_member(self._group(principal, gid, modify=True), email)
        return error(404, NOT_FOUND)

    def _group(self, principal: Principal, gid: str, *, modify: bool = False) -> int:
        """The index of group `gid`, which only the admin may see, and nobody change when it is All Members."""
        _require_admin(principal, FORBIDDEN_GROUP)
        group = self.team.group_index.get(gid)
        if group is None:
            raise Reject(error(404, NOT_FOUND))
        if modify and group == ALL_MEMBERS:
            raise Reject(error(403, FORBIDDEN_GROUP))
        return group

    def _on_team(self, email: str) -> int | None:
        index = self.team.member_index(email)
        return index if index is not None and self.memberships.on_team(index) else None

    def _get_member(self, email: str) -> httpx.Response:
        index = self._on_team(email)
        if index is None:
            return error(404, NOT_FOUND)
        return json_response(200, self._team_users([index])[0])

    def _invite(self, request: httpx.Request) -> httpx.Response:
        emails = _invited_emails(request.content)
        if not emails:
            return error(400, BAD_REQUEST)
        for email in emails:
            if self._on_team(email) is not None:
                return error(400, f"User is already a team member: {email}")
        invited = [index for email in emails if (index := self.memberships.invite(email)) is not None]
        return json_response(200, self._team_users(invited))

    def _remove_from_team(self, email: str) -> httpx.Response:
        index = self._on_team(email)
        if index is None or not self.memberships.remove_from_team(index):
            return error(404, TEAM_MEMBER_NOT_FOUND)
        return httpx.Response(204)

    def _list_group_members(self, request: httpx.Request, gid: str, group: int) -> httpx.Response:
        members = self.memberships.members_of(group)
        if not members:
            return httpx.Response(204)
        return self._pager.page(
            request, f"groups/{gid}", members, GROUP_MEMBERS_PAGE_SIZE, lambda page: self.group_members(group, page)
        )

    def _add_members(self, request: httpx.Request, group: int) -> httpx.Response:
        emails = _requested_emails(request.content)
        if emails is None:
            return error(400, BAD_REQUEST)
        if not emails:
            return error(400, "At least one member is required")
        indexes = []
        for email in emails:
            index = self._on_team(email)
            if index is None:
                return error(400, f"User must be a team member: {email}")
            indexes.append(index)
        self.memberships.add(group, indexes)
        return json_list_response(200, self.group_members(group, indexes))

    def _remove_member(self, group: int, email: str) -> httpx.Response:
        index = self.team.member_index(email)
        if index is None or not self.memberships.remove(group, index):
            return error(404, MEMBER_NOT_FOUND)
        return httpx.Response(204)

    def _team_users(self, indexes: Sequence[int]) -> list[Record]:
        """Members (a page), each with the groups it is in."""
        groups = self.memberships.groups_of(indexes)
        return [self.team.team_user(index, member_groups) for index, member_groups in zip(indexes, groups, strict=True)]

    def _encoded_team_users(self, indexes: Sequence[int]) -> list[bytes]:
        return [json_bytes(user) for user in self._team_users(indexes)]

    def group_members(self, group: int, members: Sequence[int]) -> list[bytes]:
        """`/groups/{id}/members` entries of these members, encoded (and kept: see `group_member_json`)."""
        joined_at = self.memberships.joined_at
        return [self.team.group_member_json(group, member, joined_at(group, member)) for member in members]


def _require_admin(principal: Principal, forbidden: str) -> None:
    """Only the admin's token may list or change members and groups; the others get 403 `forbidden`."""
    if principal != "admin":
        raise Reject(error(403, forbidden))


def _invited_emails(content: bytes) -> list[str]:
    """The addresses of an invite body, `{"emails": "a@x.com, b@y.com", "teamMemberType": …}`."""
    try:
        body = json.loads(content)
    except ValueError:
        return []
    emails = body.get("emails") if isinstance(body, dict) else None
    if not isinstance(emails, str):
        return []
    return list(dict.fromkeys(part.strip().lower() for part in emails.split(",") if "@" in part))


def _requested_emails(content: bytes) -> list[str] | None:
    """Emails from an add-member body, either `["a@x.com"]` or `[{"id": "a@x.com"}]`; None if malformed."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    if not isinstance(body, list):
        return None
    emails: dict[str, None] = {}  # ordered and without duplicates
    for item in body:
        email = item.get("id") if isinstance(item, dict) else item
        if not isinstance(email, str) or not email.strip():
            return None
        emails[email.strip().lower()] = None
    return list(emails)
