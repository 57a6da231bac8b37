"""The recommender's routing advice, as the request path reads it: validated, and kept in the
process for a few minutes.

The aggregation job writes each org's advice hourly (``RollupStore.put_advice``): for each task
type, the models it has seen, best first, with their score, samples and confidence. Learned
routing (``parley.routing.learned``) reorders a chain by it. Every request of an org that turned
it on needs the advice, and it changes once an hour, so each Lambda environment keeps a copy per
org for ``ttl_seconds`` (5 minutes) and reads DynamoDB at most that often per org; this is only
a cache, the store stays the truth.

The document is data another job wrote, so it is validated here (``Advice``) once per read, never
per request: one that does not validate is ignored with a warning, as if there were none, and
kept so for ``ttl_seconds`` rather than re-read by every request. Unknown fields are ignored (a
recommender that says more is not wrong); what is read is bounded.

A refresh is one GetItem (in a worker thread) that concurrent requests for the org share; the
request path starts it beside its other round trips and waits for it with them, so it never
waits longer than that one read. A refresh never raises: when the read fails the last copy is
kept (or none, when there was none), with a warning, for ``retry_seconds`` before the next
attempt, so an outage costs one read per org every half a minute rather than one per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime  # noqa: TC003 (pydantic reads the annotation at runtime)
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley.errors import ParleyError
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ADVICE_RETRY_SECONDS",
    "ADVICE_TTL_SECONDS",
    "Advice",
    "AdviceCache",
    "AdviceSource",
    "ModelAdvice",
    "parse_advice",
]

ADVICE_TTL_SECONDS = 300.0  # the advice changes hourly: a copy five minutes old is current
ADVICE_RETRY_SECONDS = 30.0
_MAX_TASK_TYPES = 64
_MAX_MODELS_PER_TASK = 100


class _Read(BaseModel):
    # Unknown fields are ignored (the recommender may say more than routing reads); what is
    # read is checked: no NaN or infinity, bounded lengths, frozen once parsed.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class ModelAdvice(_Read):
    """One model's standing for one task type."""

    model: str = Field(min_length=1, max_length=200)
    provider: str | None = Field(default=None, max_length=100)
    score: float
    samples: int = Field(ge=0)
    confidence: float = Field(ge=0, le=100)


class Advice(_Read):
    """An org's advice: per task type, models best first."""

    computed_at: datetime
    window_days: int = Field(ge=1, le=400)
    task_types: dict[str, tuple[ModelAdvice, ...]] = Field(max_length=_MAX_TASK_TYPES)

    def for_task(self, task_type: str) -> tuple[ModelAdvice, ...]:
        """The models advised for ``task_type``, best first; empty when none is."""
        found = self.task_types.get(task_type, ())
        return found[:_MAX_MODELS_PER_TASK]


def parse_advice(document: object, *, org_id: str) -> Advice | None:
    """The validated advice, or None (with a warning) when ``document`` is not advice."""
    try:
        return Advice.model_validate(document)
    except ValidationError as exc:
        logger.warning(
            "Ignoring malformed routing advice",
            org_id=org_id,
            problems=exc.error_count(),
            first_problem=_first_problem(exc),
        )
        return None


class AdviceSource(Protocol):
    """What the cache reads from: a ``RollupStore``, or a fake in tests."""

    def advice(self, org_id: str) -> dict[str, Any] | None: ...


@dataclass
class _Entry:
    advice: Advice | None
    fresh_until: float


class _Flight:
    """One read in progress, which every concurrent refresh for the org awaits."""

    def __init__(self) -> None:
        self.done = anyio.Event()


class AdviceCache:
    def __init__(
        self,
        source: AdviceSource,
        *,
        ttl_seconds: float = ADVICE_TTL_SECONDS,
        retry_seconds: float = ADVICE_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._retry = min(retry_seconds, ttl_seconds)
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._flights: dict[str, _Flight] = {}

    def is_fresh(self, org_id: str) -> bool:
        """Whether the copy held (advice or the knowledge that there is none) needs no read."""
        entry = self._entries.get(org_id)
        return entry is not None and self._clock() < entry.fresh_until

    def held(self, org_id: str) -> Advice | None:
        """The copy held, however old; None when there is none. Never reads."""
        entry = self._entries.get(org_id)
        return entry.advice if entry is not None else None

    async def get(self, org_id: str) -> Advice | None:
        """The org's advice, refreshed first when the copy held is older than ``ttl_seconds``."""
        if not self.is_fresh(org_id):
            await self.refresh(org_id)
        return self.held(org_id)

    async def refresh(self, org_id: str) -> None:
        """Read the org's advice unless a read for it is already under way (then wait for that
        one). Never raises: a failed read keeps what was held."""
        flight = self._flights.get(org_id)
        if flight is not None:
            await flight.done.wait()
            return
        flight = _Flight()
        self._flights[org_id] = flight
        try:
            advice, seconds = await anyio.to_thread.run_sync(self._read, org_id)
            self._entries[org_id] = _Entry(advice, self._clock() + seconds)
        finally:
            del self._flights[org_id]
            flight.done.set()

    def _read(self, org_id: str) -> tuple[Advice | None, float]:
        """In a worker thread: the advice and how long to keep it."""
        held = self.held(org_id)
        try:
            document = self._source.advice(org_id)
        except ParleyError as exc:
            logger.warning(
                "Routing advice not read: keeping the last copy"
                if held is not None
                else "Routing advice not read: routing by the rules",
                org_id=org_id,
                error_code=exc.code,
                error=exc.message,
            )
            return held, self._retry
        except Exception:  # noqa: BLE001 - advice is optional: a chat never fails for it
            logger.exception("Routing advice not read", org_id=org_id)
            return held, self._retry
        if document is None:
            return None, self._ttl
        return parse_advice(document, org_id=org_id), self._ttl


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "(document)"
    return f"{where}: {error['msg']}"
