"""Powertools Logger, Metrics and Tracer, created once per process.

Everything imports ``logger``, ``metrics`` and ``tracer`` from here. The tracer is built on
first use: constructing it imports the X-Ray SDK and botocore (~230 ms), which a process that
never traces should not pay at start. Request-scoped keys
(request id, user id) go through ``bind_request_keys``, which stores them in a context
variable: under uvicorn many requests share one process, and the logger's global keys would
leak one request's ids into another's lines.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics

from parley.config import get_settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.metrics import MetricUnit

__all__ = [  # noqa: F822 (tracer: module __getattr__)
    "bind_request_keys",
    "clear_request_keys",
    "emit_metric",
    "logger",
    "metrics",
    "start_request_keys",
    "tracer",
]

_settings = get_settings()

logger = Logger(service=_settings.service_name, level=_settings.log_level)
metrics = Metrics(service=_settings.service_name, namespace=_settings.metrics_namespace)


@cache
def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    # Powertools disables it by itself outside Lambda (and with POWERTOOLS_TRACE_DISABLED).
    return Tracer(service=_settings.service_name)


def __getattr__(name: str) -> object:
    # PEP 562: `from parley.telemetry import tracer` builds the tracer at that moment.
    if name == "tracer":
        return _tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def start_request_keys(**keys: object) -> None:
    """Begin a request's log keys with exactly ``keys``, whatever the context held before.

    A new request does not always start in a clean context: uvicorn creates a request's task
    from inside the connection's read callback, and a callback re-registered by an earlier
    request (``resume_reading`` after a body over 64 KiB) runs in a copy of *that* request's
    context, keys included. Starting from nothing is the only way to be sure."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(**keys)


def bind_request_keys(**keys: object) -> None:
    """Add keys to every log line written by the current request (task or thread)."""
    logger.thread_safe_append_keys(**keys)


def clear_request_keys() -> None:
    logger.thread_safe_clear_keys()


def emit_metric(
    name: str, unit: MetricUnit, value: float, *dimension_sets: Mapping[str, str]
) -> None:
    """Print one metric as an EMF document of its own, under each of ``dimension_sets`` (each
    with ``service`` added; none given: ``service`` alone). Its own document because the
    process-wide ``metrics`` is shared by concurrent requests, whose dimensions must not mix;
    the metric's name, unit and sets are declared in ``parley.metrics_catalog``."""
    settings = get_settings()
    document = EphemeralMetrics(namespace=settings.metrics_namespace, service=settings.service_name)
    first, *others = dimension_sets or ({},)
    for key, dimension in first.items():
        document.add_dimension(name=key, value=dimension)
    for extra in others:
        document.add_dimensions(service=settings.service_name, **extra)
    document.add_metric(name=name, unit=unit, value=value)
    document.flush_metrics()
