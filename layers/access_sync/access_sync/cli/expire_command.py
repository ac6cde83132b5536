"""`access-sync expire`: carries out the ends of time-bound grants that are due, from `<DEST>/provisioning/expiries/`.

Each end is its revoke request, run through the same service as `access-sync provision` (its request_id is
derived from the grant and the end, so running `expire` twice ends nothing twice). On AWS, EventBridge
Scheduler does this instead and no local records exist.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from access_sync.cli.provision_command import NOT_DONE, close_all, local_service, print_outcome
from access_sync.stores.expiries import StoredGrantEnds
from access_sync.wiring.connections import open_blob_store


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def run_expire_command(args: argparse.Namespace) -> int:
    ends = StoredGrantEnds(open_blob_store(args.out))
    due = ends.due(datetime.now(UTC))
    not_done = 0
    if due:
        service, provisioners = local_service(args, {end.connector for end in due})
        try:
            for end in due:
                recorded = service.handle(json.dumps(end.revoke_request()))
                not_done += recorded.outcome.status in NOT_DONE
                print_outcome(recorded, args.output)
        finally:
            close_all(provisioners)
    pending = sorted(ends.pending(), key=lambda end: end.expires_at)
    summary = f"{_plural(len(due), 'end')} carried out; {_plural(len(pending), 'end')} pending"
    print(summary + (f", the next at {pending[0].expires_at}." if pending else "."))
    return 1 if not_done else 0
