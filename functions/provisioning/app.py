"""ProvisioningFunction: SQS batches of access requests → changes in Guru and Gusto, one outcome each."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from access_sync.observability import logger, metrics, traced
from access_sync.wiring.provisioning_lambda import handle_batch


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, context)
