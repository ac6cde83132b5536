"""What the APIs allow at best: the fewest requests a full sync can make, and the earliest it can finish.

A sync cannot beat three floors: the longest chain of requests that must go one after another (each page
of a list names or numbers the next only once the previous one has arrived), all requests spread over the
allowed requests in flight, and a published rate limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

GURU_MEMBERS_PER_PAGE = 50
GURU_GROUP_MEMBERS_PER_PAGE = 100
GUSTO_MAX_PER = 100
GUSTO_RATE_LIMIT = 200  # requests per rolling window, OAuth endpoints excepted
GUSTO_RATE_WINDOW = 60.0
GUSTO_REFRESH_MARGIN = 300.0  # an access token with 5 minutes or less left must be refreshed (docs/secrets.md)


def pages(items: int, per_page: int) -> int:
    """Requests to read a list: an empty list still takes one."""
    return max(1, math.ceil(items / per_page))


@dataclass(frozen=True)
class Floor:
    requests: int  # the fewest requests a full sync can make
    chain: int  # requests that must go one after another
    rate_limited_requests: int = 0  # of `requests`, those counted by the rate limit
    rate_limit: int = 0  # requests per `rate_window` seconds; 0 when there is no limit
    rate_window: float = 0.0

    def seconds(self, latency: float, concurrency: int) -> float:
        """The lower bound on wall time: no sync that makes these requests can finish sooner."""
        bound = max(self.chain * latency, self.requests * latency / concurrency)
        if self.rate_limit and self.rate_limited_requests > self.rate_limit:
            # The last rate-limited request cannot start before its window opens, then takes one latency.
            windows = (self.rate_limited_requests - 1) // self.rate_limit
            bound = max(bound, windows * self.rate_window + latency)
        return bound


def guru_floor(list_sizes: dict[str, int]) -> Floor:
    """`list_sizes`: "members" → team size, "groups/<gid>/members" → that group's size.

    /groups answers in one response. /members and every group's member list are Link-paged chains; the
    group chains can start only once /groups has named the groups, while /members needs nothing first.
    """
    members = pages(list_sizes["members"], GURU_MEMBERS_PER_PAGE)
    groups = [pages(size, GURU_GROUP_MEMBERS_PER_PAGE) for key, size in list_sizes.items() if key != "members"]
    return Floor(requests=1 + members + sum(groups), chain=max(members, 1 + max(groups, default=0)))


def gusto_needs_refresh(credentials: dict[str, str], now: datetime | None = None) -> bool:
    expires_at = datetime.fromisoformat(credentials["access_token_expires_at"].replace("Z", "+00:00"))
    return (expires_at - (now or datetime.now(UTC))).total_seconds() <= GUSTO_REFRESH_MARGIN


def gusto_floor(list_sizes: dict[str, int], refresh: bool) -> Floor:
    """`list_sizes`: "employees", "contractors", "admins" → items in that company list.

    token_info names the company; then the company and the first page of each list can go at once, and
    the first page's X-Total-Pages lets every remaining page go at once too. A refresh, when the stored
    access token is (nearly) expired, comes before everything and is not rate limited.
    """
    lists = [pages(size, GUSTO_MAX_PER) for size in list_sizes.values()]
    api = 2 + sum(lists)  # token_info, company, the lists
    chain = int(refresh) + 2 + int(max(lists) > 1)
    return Floor(
        requests=api + int(refresh),
        chain=chain,
        rate_limited_requests=api,
        rate_limit=GUSTO_RATE_LIMIT,
        rate_window=GUSTO_RATE_WINDOW,
    )
