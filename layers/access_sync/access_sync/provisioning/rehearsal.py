"""Dry runs: each request parsed, refused and dispatched exactly as for real, with every change held back.

The connectors are built on a transport that answers reads from the real API and stops each write before
it leaves the process (access_sync.http.rehearsal); what it stopped is the call the request would make.
Nothing is written here: no idempotency record, no outcome, no end.
"""

from __future__ import annotations

from dataclasses import asdict

from access_sync.http.rehearsal import WriteHeld
from access_sync.models.provisioning import GrantRequest, Rehearsal, Rejection, utc_text
from access_sync.provisioning.service import ProvisioningService, dispatch


def rehearse(service: ProvisioningService, raw_body: str) -> Rehearsal:
    parsed = service.parse(raw_body)
    if isinstance(parsed, Rejection):
        return Rehearsal(
            request_id=parsed.request_id,
            connector=parsed.connector,
            action=parsed.action,
            status="rejected",
            message=f"The request would be rejected: {parsed.reason}.",
        )
    about = {"request_id": parsed.request_id, "connector": parsed.connector, "action": parsed.action}
    now = service.clock()
    if (refusal := service.refusal(parsed, now)) is not None:
        return Rehearsal(**about, status="rejected", message=f"The request would be rejected: {refusal}.")
    if service.recorder.read(f"{parsed.request_id}.json") is not None:
        return Rehearsal(
            **about,
            status="already_done",
            message=f"Request {parsed.request_id} was already carried out; its first outcome would be reported again.",
        )
    if service.superseded(parsed):
        return Rehearsal(**about, status="already_done", message="This end was replaced by a later end; not revoked.")
    try:
        result = dispatch(service.provisioner_for(parsed.connector), parsed, redelivered=False)
    except WriteHeld as held:
        call = held.call
        end = parsed.end_after(now) if isinstance(parsed, GrantRequest) else None
        ends_at = utc_text(end) if end else None
        message = f"Would call {call.method} {call.path}" + (f", the access ending at {ends_at}." if ends_at else ".")
        return Rehearsal(**about, status="would_call", message=message, calls=[asdict(call)], expires_at=ends_at)
    return Rehearsal(**about, status=result.status, message=f"No change to call: {result.message}")
