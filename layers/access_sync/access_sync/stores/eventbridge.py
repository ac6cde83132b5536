"""Publishing on EventBridge (source `access-sync`): provisioning outcomes, and whatever else the stack announces."""

from __future__ import annotations

import json
from typing import Any

import boto3

from access_sync.errors import TransientError
from access_sync.stores.aws_errors import aws_errors


class EventBridgePublisher:
    source = "access-sync"

    def __init__(self, bus_name: str = "default", detail_type: str = "Provisioning Outcome") -> None:
        self.bus_name = bus_name
        self.detail_type = detail_type
        self._client: Any = None

    def publish(self, detail: dict[str, Any]) -> None:
        with aws_errors(f"publish a {self.detail_type} event on the bus {self.bus_name}"):
            if self._client is None:
                self._client = boto3.client("events")
            entry = {
                "Source": self.source,
                "DetailType": self.detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": self.bus_name,
            }
            answer = self._client.put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            code = answer["Entries"][0].get("ErrorCode", "unknown")
            raise TransientError(f"EventBridge did not accept the {self.detail_type} event ({code}); try again later.")
