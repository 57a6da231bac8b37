"""A clock a test sets and moves: time-dependent behaviour tested without waiting."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["FakeClock"]


class FakeClock:
    """Callable like ``time.time`` or ``time.monotonic``: it returns ``now``, which only the
    test changes."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    @classmethod
    def at(cls, moment: str) -> FakeClock:
        """At an ISO moment, read as UTC (``"2026-11-22T21:30:00"``)."""
        return cls(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp())

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
