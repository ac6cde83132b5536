"""The one place where the Powertools logger and metrics are created; everything imports them from here."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Lambda sets these in template.yaml; local runs (CLI, tests) get the same names.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "access-sync")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AccessSync")

logger = Logger()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics"]
