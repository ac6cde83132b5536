"""Who the AWS credentials in use belong to (STS GetCallerIdentity): the operator an audit trail names."""

from __future__ import annotations

import boto3

from access_sync.stores.aws_errors import aws_errors


def aws_caller_arn() -> str:
    with aws_errors("read the AWS caller identity (sts:GetCallerIdentity)"):
        arn: str = boto3.client("sts").get_caller_identity()["Arn"]
    return arn
