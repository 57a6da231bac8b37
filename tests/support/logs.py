"""Reading the JSON lines Powertools' logger writes, in the test's own process."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["access_lines", "await_access_lines", "captured_logs"]


def captured_logs() -> tuple[io.StringIO, Callable[[], None]]:
    """Point the Powertools handler at a buffer (it holds the stream it was built with)."""
    from parley.telemetry import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), logger.log_level
    logger.setLevel("INFO")

    def restore() -> None:
        handler.setStream(previous_stream)
        logger.setLevel(previous_level)

    return stream, restore


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """The access-log line of every request written to ``stream``."""
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line.get("message") == "request"]


def await_access_lines(stream: io.StringIO, path: str, count: int, *, seconds: float = 5.0) -> None:
    """Wait until ``count`` access lines for ``path`` are written: a server writes a request's
    line after sending its response, so the client may read the answer first."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if len([line for line in access_lines(stream) if line["path"] == path]) >= count:
            return
        time.sleep(0.01)
