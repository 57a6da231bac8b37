"""Powertools Logger, Metrics and Tracer, created once per process.

Everything imports ``logger``, ``metrics`` and ``tracer`` from here. Request-scoped keys
(request id, user id) go through ``bind_request_keys``, which stores them in a context
variable: under uvicorn many requests share one process, and the logger's global keys would
leak one request's ids into another's lines.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from parley.config import get_settings

__all__ = ["bind_request_keys", "clear_request_keys", "logger", "metrics", "tracer"]

_settings = get_settings()

logger = Logger(service=_settings.service_name, level=_settings.log_level)
metrics = Metrics(service=_settings.service_name, namespace=_settings.metrics_namespace)
# Powertools disables the tracer by itself outside Lambda (and with POWERTOOLS_TRACE_DISABLED).
tracer = Tracer(service=_settings.service_name)


def bind_request_keys(**keys: object) -> None:
    """Add keys to every log line written by the current request (task or thread)."""
    logger.thread_safe_append_keys(**keys)


def clear_request_keys() -> None:
    logger.thread_safe_clear_keys()
