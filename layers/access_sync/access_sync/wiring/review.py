"""What a review needs from its surroundings: who the operator is, and whether revokes go to the queue."""

from __future__ import annotations

import getpass
import os

from access_sync.models.provisioning import ProvisioningOutcome
from access_sync.review.apply import CarryOut
from access_sync.stores.identity import aws_caller_arn
from access_sync.stores.sqs import SqsSender


def operator_identity(dest: str) -> str:
    """The AWS caller identity when DEST is in S3 (the credentials that write there), else the local user."""
    if dest.startswith("s3://"):
        return aws_caller_arn()
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry, as in some containers
        return f"uid {os.getuid()}"


def queue_carry_out(dest: str) -> CarryOut | None:
    """With an s3:// DEST and PROVISION_QUEUE_URL set, requests go to the provisioning queue (outcomes come
    later, from the ProvisioningFunction); otherwise None: carry them out here."""
    url = os.environ.get("PROVISION_QUEUE_URL")
    if not (dest.startswith("s3://") and url):
        return None
    queue = SqsSender(url)

    def send(raw: str) -> ProvisioningOutcome | None:
        queue.send(raw)
        return None

    return send
