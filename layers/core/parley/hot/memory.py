"""In-memory hot state: one process only (development, tests, a single uvicorn worker)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from parley.hot.base import HotStore, WindowCount

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MemoryHotStore"]


_SWEEP_EVERY = 1024  # writes between purges of expired keys nobody reads again


class MemoryHotStore(HotStore):
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float | None]] = {}
        self._writes = 0
        # A lock as well as the event loop: sync code in worker threads may share the store.
        self._lock = threading.Lock()

    async def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        with self._lock:
            self._values[key] = (value, self._deadline(ttl_seconds))

    async def delete(self, key: str) -> bool:
        with self._lock:
            live = self._live(key) is not None
            self._values.pop(key, None)
            return live

    async def set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._values[key] = (value, self._deadline(ttl_seconds))
            return True

    async def increment(self, key: str, window_seconds: float, amount: int = 1) -> WindowCount:
        with self._lock:
            current = self._live(key)
            if current is None:
                deadline = self._clock() + window_seconds
                count = amount
            else:
                deadline = self._values[key][1] or self._clock() + window_seconds
                count = int(current) + amount
            self._values[key] = (str(count), deadline)
            return WindowCount(count=count, reset_after_seconds=max(0.0, deadline - self._clock()))

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, deadline = entry
        if deadline is not None and deadline <= self._clock():
            del self._values[key]
            return None
        return value

    def _deadline(self, ttl_seconds: float | None) -> float | None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            now = self._clock()
            expired = [k for k, (_, end) in self._values.items() if end is not None and end <= now]
            for key in expired:
                del self._values[key]
        return None if ttl_seconds is None else self._clock() + ttl_seconds
