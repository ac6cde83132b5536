"""The one place where the Powertools logger, metrics and tracer are created; everything imports them from here."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Lambda sets these in template.yaml; local runs (CLI, tests) get the same names.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "access-sync")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AccessSync")


class _Metrics(Metrics):
    """Powertools Metrics that threads may add to at once (provisioning carries out a batch's items in threads):
    Powertools reads, changes and writes back a metric's entry without a lock, so two threads could lose a count."""

    _adding = threading.Lock()

    def add_metric(self, name: str, unit: MetricUnit | str, value: float, resolution: Any = 60) -> None:
        with self._adding:
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)


logger = Logger()
metrics: Metrics = _Metrics()

Handler = Callable[[Any, Any], Any]


def traced(handler: Handler) -> Handler:
    """Powertools Tracer around a Lambda handler (X-Ray, with the functions' `Tracing: Active`).

    The Tracer, and the X-Ray SDK it loads, are made on the first invocation rather than when the handler is
    imported, so importing a handler stays cheap. Outside Lambda the Tracer disables itself.
    """
    wrapped: Handler | None = None

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        nonlocal wrapped
        if wrapped is None:
            from aws_lambda_powertools import Tracer

            wrapped = Tracer().capture_lambda_handler(handler)
        return wrapped(event, context)

    return run


__all__ = ["MetricUnit", "logger", "metrics", "traced"]
