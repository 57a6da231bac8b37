"""The hot-state interface: small, short-lived values shared by every Lambda environment.

Rate-limit counters, circuit-breaker state, session caches and dedupe markers live here. Each
operation is atomic on its own in every backend, so counters and set-if-absent stay correct
when many environments race.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["HotStore", "WindowCount"]


@dataclass(frozen=True, slots=True)
class WindowCount:
    """The counter's value after an increment, and how long until its window resets."""

    count: int
    reset_after_seconds: float


class HotStore(ABC):
    """Keys are strings; values are strings (callers encode JSON themselves).

    TTLs are in seconds and may be fractional. An expired value is never returned, even where
    the backend deletes expired items late (DynamoDB TTL)."""

    @abstractmethod
    async def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""

    @abstractmethod
    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        """Store a value, replacing any other, expiring after ``ttl_seconds`` when given."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove the key; True when a live value was there."""

    @abstractmethod
    async def set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        """Store only when the key holds no live value; True when this call stored it."""

    @abstractmethod
    async def increment(self, key: str, window_seconds: float, amount: int = 1) -> WindowCount:
        """Add ``amount`` to a counter that starts at zero and lives ``window_seconds`` from its
        first increment (a fixed window), returning the new count and the time left."""

    async def close(self) -> None:  # noqa: B027 (optional hook; most backends hold nothing)
        """Release connections; the default has nothing to release."""
