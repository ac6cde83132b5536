"""Events go to EventBridge in batches that PutEvents accepts: at most 10 entries and well under 256 KB."""

from __future__ import annotations

from typing import Any

from access_sync.stores.eventbridge import EventBridgePublisher


class RecordingEvents:
    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        return {"FailedEntryCount": 0, "Entries": [{} for _ in Entries]}


def test_many_small_events_go_ten_at_a_time_and_large_ones_fewer() -> None:
    publisher = EventBridgePublisher("bus", "Access Changed")
    publisher._client = recording = RecordingEvents()
    publisher.publish_all([{"n": i} for i in range(23)] + [{"n": i, "pad": "x" * 60_000} for i in range(7)])
    sizes = [len(call) for call in recording.calls]
    assert sizes == [10, 10, 6, 3, 1]  # 3 small and 3 large share a batch; 4 large would pass 200 KB
    for call in recording.calls:
        assert len(call) <= 10 and sum(len(entry["Detail"]) for entry in call) < 256 * 1024
        assert {(entry["DetailType"], entry["Source"], entry["EventBusName"]) for entry in call} == {
            ("Access Changed", "access-sync", "bus")
        }
