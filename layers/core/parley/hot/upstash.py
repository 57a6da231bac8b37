"""Hot state in Upstash Redis over its REST API (the ``upstash-redis`` client).

The client has no request timeout of its own, so each call runs under ``asyncio.timeout``;
its failures become Parley's errors here.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

import httpx

from parley.errors import ServiceUnavailable, UpstreamTimeout
from parley.hot.base import HotStore, WindowCount

if TYPE_CHECKING:
    from collections.abc import Awaitable

__all__ = ["UpstashHotStore", "call_upstash", "new_upstash_client"]


class UpstashHotStore(HotStore):
    def __init__(
        self, url: str, token: str, *, timeout_seconds: float = 1.0, client: Any = None
    ) -> None:
        self._redis = client if client is not None else new_upstash_client(url, token)
        self._timeout = timeout_seconds

    async def get(self, key: str) -> str | None:
        value = await self._call(self._redis.get(key))
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        if ttl_seconds is None:
            await self._call(self._redis.set(key, value))
        else:
            await self._call(self._redis.set(key, value, px=_milliseconds(ttl_seconds)))

    async def delete(self, key: str) -> bool:
        return bool(await self._call(self._redis.delete(key)))

    async def set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        stored = await self._call(
            self._redis.set(key, value, nx=True, px=_milliseconds(ttl_seconds))
        )
        return bool(stored)

    async def increment(self, key: str, window_seconds: float, amount: int = 1) -> WindowCount:
        # MULTI/EXEC: open the window (a zero with its expiry, only if absent), add, read the
        # time left, as one step; no client ever sees a counter without its expiry. Plain
        # SET NX PX rather than PEXPIRE NX, which needs Redis 7.
        transaction = self._redis.multi()
        transaction.set(key, "0", nx=True, px=_milliseconds(window_seconds))
        transaction.incrby(key, amount)
        transaction.pttl(key)
        _, count, remaining_ms = await self._call(transaction.exec())
        return WindowCount(count=int(count), reset_after_seconds=max(0, int(remaining_ms)) / 1000)

    async def close(self) -> None:
        await self._redis.close()

    async def _call(self, operation: Awaitable[Any]) -> Any:
        return await call_upstash(operation, self._timeout)


def new_upstash_client(url: str, token: str) -> Any:
    """An ``upstash_redis.asyncio.Redis``. One quick retry: its calls sit on the request path."""
    from upstash_redis.asyncio import Redis

    return Redis(
        url=url, token=token, rest_retries=1, rest_retry_interval=0.05, allow_telemetry=False
    )


async def call_upstash[T](operation: Awaitable[T], timeout_seconds: float) -> T:
    """Await one Upstash call under a timeout (the client has none), translating its failures."""
    from upstash_redis.errors import UpstashError

    try:
        async with asyncio.timeout(timeout_seconds):
            return await operation
    except TimeoutError as exc:
        raise UpstreamTimeout("The hot-state store did not answer in time.") from exc
    except (UpstashError, httpx.HTTPError, ValueError) as exc:
        raise ServiceUnavailable("The hot-state store failed.") from exc


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
