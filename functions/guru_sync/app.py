"""GuruSyncFunction: a schedule (through the sync state machine) → one Guru snapshot in S3."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from access_sync.observability import logger, metrics, traced
from access_sync.wiring.sync_lambda import run_lambda_sync


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_lambda_sync("guru", event, context.get_remaining_time_in_millis)
