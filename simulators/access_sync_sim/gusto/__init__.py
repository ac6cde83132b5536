"""Simulated Gusto API: OAuth with rotating refresh tokens, one company's people, admins and provisioning.

Modelled on Gusto's published behaviour: Doorkeeper-style OAuth on the API host, company access tokens
bound to one company, `page`/`per` paging with `X-Total-Pages`, 200 requests per rolling minute,
`X-Gusto-API-Version`, and the `{"errors": [...]}` error bodies. One module a job:

- `data`: the company generated deterministically from the seed and each record's index;
- `overlay`: provisioning's changes on top of it, thread-safe;
- `oauth`: authorization codes, rotating refresh tokens, revocation and the bearer-token check;
- `routes`: the `/v1` API, with `paging` and `bodies` (request checks) and `errors` (Gusto's error bodies);
- `simulator`: `GustoSimulator`, which puts them together.

Counting, fault injection, latency and serving are shared with the other simulator (`access_sync_sim.base`).
"""

from .oauth import AUTHORIZATION_CODE_TTL, CLIENT_ID, CLIENT_SECRET, DEFAULT_SCOPES, INVALID_GRANT
from .paging import DEFAULT_PER, MAX_PER
from .routes import DEFAULT_API_VERSION, RATE_WINDOW_SECONDS, SUPPORTED_API_VERSIONS
from .simulator import GustoSimulator

__all__ = [
    "AUTHORIZATION_CODE_TTL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEFAULT_API_VERSION",
    "DEFAULT_PER",
    "DEFAULT_SCOPES",
    "INVALID_GRANT",
    "MAX_PER",
    "RATE_WINDOW_SECONDS",
    "SUPPORTED_API_VERSIONS",
    "GustoSimulator",
]
