"""Time as Parley stores it: ISO 8601 UTC strings with milliseconds, and epoch seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["iso_from_epoch", "now_iso"]


def iso_from_epoch(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso_from_epoch(time.time())
