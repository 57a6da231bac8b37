"""Hot stores for tests: one of each real backend, and one that is always down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.errors import ServiceUnavailable
from parley.hot.base import HotStore, WindowCount
from parley.hot.dynamodb import DynamoDBHotStore
from parley.hot.memory import MemoryHotStore
from parley.hot.upstash import UpstashHotStore

if TYPE_CHECKING:
    import pytest

BACKENDS = ["memory", "dynamodb", "upstash"]


def hot_store(request: pytest.FixtureRequest, backend: str) -> HotStore:
    """The backend named, against the session's real servers (moto, redis-server behind the
    Upstash shim), for a fixture parametrised over ``BACKENDS``."""
    if backend == "memory":
        return MemoryHotStore()
    if backend == "dynamodb":
        settings = request.getfixturevalue("settings")
        return DynamoDBHotStore(settings.hot_table, client=request.getfixturevalue("dynamodb"))
    shim = request.getfixturevalue("upstash")
    return UpstashHotStore(shim.url, shim.token, timeout_seconds=5.0)


class BrokenHotStore(HotStore):
    """Every operation fails the way a backend reports an outage."""

    async def get(self, key: str) -> str | None:
        raise ServiceUnavailable("The hot-state store failed.")

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        raise ServiceUnavailable("The hot-state store failed.")

    async def delete(self, key: str) -> bool:
        raise ServiceUnavailable("The hot-state store failed.")

    async def set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        raise ServiceUnavailable("The hot-state store failed.")

    async def increment(self, key: str, window_seconds: float, amount: int = 1) -> WindowCount:
        raise ServiceUnavailable("The hot-state store failed.")
