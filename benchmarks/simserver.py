"""The simulators in a process of their own, so the sync process's memory and CPU are measured alone.

The parent starts `serve` through multiprocessing and talks to it over a pipe: the simulator process builds
the organisation, starts listening on a loopback port, sends back what it serves (`Served`), and then answers
the parent's requests: `churn` changes the Guru team the way a few days change a real one (people leave and
join, memberships come and go) and answers with what is served now; `count` answers with the requests
answered so far; `done` ends it, answered with the CPU time it used.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from access_sync_sim.base import Simulator
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import GustoSimulator


@dataclass(frozen=True)
class GuruOrg:
    members: int
    groups: int
    memberships: int


@dataclass(frozen=True)
class GustoCompany:
    employees: int
    contractors: int
    admins: int


Org = GuruOrg | GustoCompany


@dataclass(frozen=True)
class Served:
    """What a correct sync of the served organisation must do and produce."""

    base_url: str  # the client's base URL; before serving, only its path under the server root
    list_sizes: dict[str, int]  # items in each paged list, keyed by the list's path
    expected_counts: dict[str, Any]  # the manifest `counts` a correct sync writes
    credentials: dict[str, str] | None  # Gusto's credential file; Guru's come from the environment


@dataclass(frozen=True)
class Answered:
    cpu_seconds: float  # CPU time the simulator process spent serving


CHURN_PEOPLE = 100  # people who leave, people who join, and memberships added, each time the team churns


def _guru_served(guru: GuruSimulator) -> Served:
    counts = guru.expected_counts()
    sizes = {"members": counts["users"]}
    sizes.update({f"groups/{gid}/members": len(guru.group_member_emails(gid)) for gid in guru.group_ids()})
    expected = {
        "resources": {"user": counts["users"], "group": counts["groups"]},
        "entitlements": counts["groups"],
        "grants": counts["memberships"],
    }
    return Served("/api/v1", sizes, expected, None)


def _churn(guru: GuruSimulator, round_: int) -> None:
    memberships, first = guru.memberships, 1_000 + 2 * round_ * CHURN_PEOPLE
    for member in range(first, first + CHURN_PEOPLE):
        memberships.remove_from_team(member)
    for joiner in range(CHURN_PEOPLE):
        memberships.invite(f"joiner{round_}.{joiner}@example.com")
    group = 1 + round_ % (len(guru.group_ids()) - 1)
    memberships.add(group, range(first + CHURN_PEOPLE, first + 2 * CHURN_PEOPLE))


def _build(org: Org, latency: float) -> tuple[Simulator, Served]:
    if isinstance(org, GuruOrg):
        guru = GuruSimulator(members=org.members, groups=org.groups, memberships=org.memberships, latency=latency)
        guru.prerender()  # as for Gusto below: the simulator's rendering is not what is being measured
        return guru, _guru_served(guru)
    gusto = GustoSimulator(employees=org.employees, contractors=org.contractors, admins=org.admins, latency=latency)
    gusto.company.prerender()  # before serving: the sync's time should not include the simulator rendering records
    company = gusto.expected_counts()
    sizes = {
        "employees": company["resources"]["employee"],
        "contractors": company["resources"]["contractor"],
        "admins": len(gusto.admin_emails()),
    }
    return gusto, Served("", sizes, company, gusto.issue_credentials())


def serve(org: Org, latency: float, pipe: Connection) -> None:
    """Runs in the simulator process until the parent asks what it answered, or goes away."""
    simulator, served = _build(org, latency)
    with simulator.serve() as root, suppress(EOFError):
        served = replace(served, base_url=root + served.base_url)
        pipe.send(served)
        # process_time() counts every server thread: how busy the simulator was, to tell who limited the pace.
        setup, churned = time.process_time(), 0
        while (asked := pipe.recv()) != "done":
            if asked == "churn" and isinstance(simulator, GuruSimulator):
                _churn(simulator, churned)
                churned += 1
                served = replace(_guru_served(simulator), base_url=served.base_url)
                pipe.send(served)
            else:  # "count"
                pipe.send(simulator.requests)
        pipe.send(Answered(time.process_time() - setup))


class SimulatorProcess:
    """A running simulator process: what it serves, and how many requests it has answered."""

    def __init__(self, served: Served, pipe: Connection) -> None:
        self.served = served
        self._pipe = pipe

    def churn(self) -> None:
        """Changes the Guru team (see `CHURN_PEOPLE`); `served` then says what is served from now on."""
        self._pipe.send("churn")
        self.served = self._pipe.recv()

    def requests(self) -> int:
        """The requests answered so far."""
        self._pipe.send("count")
        answered: int = self._pipe.recv()
        return answered

    def finish(self) -> Answered:
        """Ends the simulator (call it once the sync is over); returns what it answered."""
        self._pipe.send("done")
        answered: Answered = self._pipe.recv()
        return answered


@contextmanager
def simulator_process(org: Org, latency: float) -> Iterator[SimulatorProcess]:
    # spawn, not fork: the child starts clean instead of inheriting whatever the parent has built up.
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve, args=(org, latency, theirs), daemon=True)
    process.start()
    try:
        yield SimulatorProcess(ours.recv(), ours)
    finally:
        ours.close()  # the child's recv() then ends with EOFError, and it exits
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
