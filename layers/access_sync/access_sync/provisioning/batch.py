"""The items of one SQS batch carried out at once, behind Powertools' partial-response contract.

Threads rather than Powertools' AsyncBatchProcessor: everything an item does (boto3, httpx, Powertools
Idempotency) blocks, so an async record handler would only hand each item to `asyncio.to_thread` — the same
threads, with an event loop on top. Overriding `BatchProcessor.process` with a bounded thread pool leaves
Powertools' bookkeeping as it is: each item still goes through `_process_record`, whose success and failure
lists become `batchItemFailures`.

Items of one lane run one after another, in batch order; lanes run at once. The provisioning function's lane
is the request_id: a request delivered twice in one batch is carried out by its first delivery, and the second
then finds the saved outcome, instead of meeting the first in progress and going back to the queue. The
provision queue is a standard queue (no order is promised); a FIFO queue would need its message groups as
lanes, and a failure to hold back the rest of its group.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor

Record = dict[str, Any]


class ConcurrentBatchProcessor(BatchProcessor):
    def __init__(self, lane_of: Callable[[Record], str], workers: int, **options: Any) -> None:
        super().__init__(**options)
        self.lane_of = lane_of
        self.workers = workers

    def process(self) -> list[tuple[Any, ...]]:
        lanes: dict[str, list[Record]] = {}
        for record in self.records:
            lanes.setdefault(self.lane_of(record), []).append(record)
        workers = min(self.workers, len(lanes))
        if workers <= 1:
            return super().process()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch-item") as pool:
            done = list(pool.map(self._process_lane, lanes.values()))
        return [result for lane in done for result in lane]

    def _process_lane(self, records: list[Record]) -> list[tuple[Any, ...]]:
        return [self._process_record(record) for record in records]
