"""Putting provisioning requests on the provision queue, for the ProvisioningFunction to carry out (leaver
remediation, review decisions)."""

from __future__ import annotations

from typing import Any

from access_sync.stores.aws_clients import aws_client
from access_sync.stores.aws_errors import aws_errors


class SqsSender:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self._client: Any = None

    def send(self, body: str) -> None:
        with aws_errors("send a provisioning request to the provision queue"):
            if self._client is None:
                self._client = aws_client("sqs")
            self._client.send_message(QueueUrl=self.queue_url, MessageBody=body)
