"""`python -m access_sync_sim`: serve both simulators on loopback ports until Ctrl-C.

For trying the CLI by hand, `sam local invoke` (env.json points at ports 8081 and 8082) and benchmarks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading

from access_sync_sim.faults import Faults
from access_sync_sim.guru import GuruSimulator
from access_sync_sim.gusto import CLIENT_ID, CLIENT_SECRET, GustoSimulator
from access_sync_sim.organisation import Organisation


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m access_sync_sim", description=__doc__)
    parser.add_argument("--guru-port", type=int, default=8081)
    parser.add_argument("--gusto-port", type=int, default=8082)
    parser.add_argument("--members", type=int, default=40, help="Guru team members")
    parser.add_argument("--groups", type=int, default=6, help="Guru groups, All Members included")
    parser.add_argument("--memberships", type=int, default=None, help="Guru memberships (default 3 x members)")
    parser.add_argument("--employees", type=int, default=30, help="Gusto employees")
    parser.add_argument("--contractors", type=int, default=8, help="Gusto contractors")
    parser.add_argument("--admins", type=int, default=5, help="Gusto admins")
    parser.add_argument(
        "--organisation",
        action="store_true",
        help="one organisation for both: Gusto's people are Guru's members (--members is then ignored)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 503")
    parser.add_argument("--throttle-rate", type=float, default=0.0, help="share of requests answered 429")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of connections dropped unanswered")
    parser.add_argument("--retry-after", type=int, default=None, help="Retry-After seconds on injected 429s")
    args = parser.parse_args(argv)

    def faults() -> Faults:
        return Faults(
            error_rate=args.error_rate,
            throttle_rate=args.throttle_rate,
            drop_rate=args.drop_rate,
            retry_after=args.retry_after,
        )

    organisation = (
        Organisation(employees=args.employees, contractors=args.contractors, admins=args.admins)
        if args.organisation
        else None
    )
    guru = GuruSimulator(
        members=args.members,
        groups=args.groups,
        memberships=args.memberships,
        latency=args.latency,
        faults=faults(),
        organisation=organisation,
    )
    gusto = GustoSimulator(
        employees=args.employees,
        contractors=args.contractors,
        admins=args.admins,
        latency=args.latency,
        faults=faults(),
        organisation=organisation,
    )
    with guru.serve(port=args.guru_port) as guru_url, gusto.serve(port=args.gusto_port) as gusto_url:
        print(f"Guru   {guru_url}/api/v1   GURU_USER_EMAIL={guru.ADMIN_EMAIL} GURU_API_TOKEN={guru.ADMIN_TOKEN}")
        print(f"Gusto  {gusto_url}   client id {CLIENT_ID}   client secret {CLIENT_SECRET}")
        if organisation is not None:
            print(
                f"One organisation: config/identities.json could be {json.dumps(organisation.suggested_identities())}"
            )
        print("These are the simulators' built-in test credentials, not real ones. Ctrl-C stops.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
