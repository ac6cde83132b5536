"""Who the AWS credentials in use belong to (STS GetCallerIdentity): the operator an audit trail names."""

from __future__ import annotations

from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_errors


def aws_caller_arn() -> str:
    with aws_errors("read the AWS caller identity (sts:GetCallerIdentity)"):
        arn: str = aws_client("sts").get_caller_identity()["Arn"]
    return arn
