"""Sending provisioning requests to the SQS provisioning queue, for the ProvisioningFunction to carry out."""

from __future__ import annotations

from typing import Any

import boto3

from access_sync.stores.aws_errors import aws_errors


class SqsQueue:
    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None

    def send(self, body: str) -> None:
        with aws_errors(f"send a message to the queue {self.url}"):
            if self._client is None:
                self._client = boto3.client("sqs")
            self._client.send_message(QueueUrl=self.url, MessageBody=body)
