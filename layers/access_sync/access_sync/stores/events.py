"""Publishing provisioning outcomes on EventBridge (source `access-sync`, detail-type `Provisioning Outcome`)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from access_sync.errors import TransientError


class EventBridgePublisher:
    source = "access-sync"
    detail_type = "Provisioning Outcome"

    def __init__(self, bus_name: str = "default") -> None:
        self.bus_name = bus_name
        self._client: Any = None

    def publish(self, detail: dict[str, Any]) -> None:
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
            raise TransientError(f"EventBridge did not accept the outcome event ({code}); it will be retried.")
