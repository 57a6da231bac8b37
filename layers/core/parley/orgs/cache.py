"""Org settings kept in the process for a few seconds, for the request path.

Every chat request needs its org's settings; reading DynamoDB each time would add a round trip
to every request. Lambda environments share nothing in memory, so this is only a cache and
DynamoDB stays the truth: a change is seen everywhere within ``ttl_seconds`` (and at once in
the process that made it, which calls ``invalidate``).

Concurrent misses for one org share one read, so a burst after expiry costs one GetItem, not
one per request. When a read fails and an earlier value is held, however old, that value is
served with a warning and kept for ``retry_seconds`` before the next attempt: an outage then
costs one slow read per org every few seconds rather than one per request. With nothing held
the failure is raised.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio
import anyio.to_thread

from parley.errors import ParleyError
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.orgs.repository import StoredSettings
    from parley.orgs.settings import OrgSettings

__all__ = ["OrgSettingsCache", "SettingsSource"]


class SettingsSource(Protocol):
    """What the cache reads from: ``OrgSettingsRepository``, or a fake in tests."""

    def get(self, org_id: str) -> StoredSettings: ...


@dataclass
class _Entry:
    settings: OrgSettings
    fresh_until: float


class _Flight:
    """One read in progress, which every concurrent miss for the org awaits."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.settings: OrgSettings | None = None
        self.error: ParleyError | None = None


class OrgSettingsCache:
    def __init__(
        self,
        repository: SettingsSource,
        *,
        ttl_seconds: float = 30,
        retry_seconds: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._ttl = ttl_seconds
        self._retry = min(retry_seconds, ttl_seconds)
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._flights: dict[str, _Flight] = {}

    async def get(self, org_id: str) -> OrgSettings:
        """The org's effective settings, at most ``ttl_seconds`` old while DynamoDB answers."""
        while True:
            entry = self._entries.get(org_id)
            if entry is not None and self._clock() < entry.fresh_until:
                return entry.settings
            flight = self._flights.get(org_id)
            if flight is None:
                return await self._read(org_id, entry)
            await flight.done.wait()
            if flight.settings is not None:
                return flight.settings
            if flight.error is not None:
                raise flight.error
            # The reading task was cancelled before it had a result: read again.

    def invalidate(self, org_id: str) -> None:
        """Make the next ``get`` read DynamoDB (after this process changed the settings). The
        old value is still served if that read fails, as any stale value would be."""
        entry = self._entries.get(org_id)
        if entry is not None:
            entry.fresh_until = -math.inf
        # A read already under way may have fetched the old document: its result is not kept.
        self._flights.pop(org_id, None)

    async def _read(self, org_id: str, stale: _Entry | None) -> OrgSettings:
        flight = _Flight()
        self._flights[org_id] = flight
        try:
            try:
                stored = await anyio.to_thread.run_sync(self._repository.get, org_id)
            except ParleyError as exc:
                if stale is None:
                    flight.error = exc
                    raise
                logger.warning(
                    "Serving stale org settings: the read failed",
                    org_id=org_id,
                    error_code=exc.code,
                    error=exc.message,
                )
                self._keep(org_id, flight, stale.settings, self._retry)
                return stale.settings
            self._keep(org_id, flight, stored.settings, self._ttl)
            return stored.settings
        finally:
            if self._flights.get(org_id) is flight:
                del self._flights[org_id]
            flight.done.set()

    def _keep(self, org_id: str, flight: _Flight, settings: OrgSettings, seconds: float) -> None:
        flight.settings = settings
        if self._flights.get(org_id) is flight:  # not invalidated while reading
            self._entries[org_id] = _Entry(settings, self._clock() + seconds)
