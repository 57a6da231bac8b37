"""A circuit breaker per provider model, shared by every Lambda environment through the hot store.

A model that keeps failing is skipped for a while instead of costing every request a timeout
before failover. States:

- closed: calls go through. ``record`` counts each outcome in a ``HealthWindow`` (an hour in
  five-minute buckets) and, after a failure, opens the circuit when the window holds at least
  ``min_requests`` calls of which at least ``failure_ratio`` failed;
- open: calls are refused, with the time left, until ``open_seconds`` have passed;
- half-open: the cool-down is over; ``allow`` admits ONE probe call across all environments
  (``set_if_absent`` on a probe lock that expires after ``probe_timeout_seconds``, in case the
  probe never reports) and refuses the rest. A successful probe clears the window and closes
  the circuit, so the failures that opened it cannot reopen it at once; a failed probe opens it
  for another cool-down.

The hot store holds one state key per model, present only while the circuit is open: its value
is the moment the cool-down ends. A missing or expired key means closed, so ``allow``, which
the request path calls before every attempt, costs one read while closed. The open key lives a
window past its cool-down: a circuit nobody probes for that long closes by itself, by which time
the failures that opened it have aged out of the window. The probe lock's name holds the
cool-down's end, so each open period has its own lock: a reopened circuit never waits for the
previous probe's lock, and an environment that read the state just before a probe closed the
circuit finds that probe's lock still taken rather than starting a second probe.

Races between environments need no transactions. Each store operation is atomic; two
environments that trip the circuit at once both write "open" with nearly the same end (the last
write wins, harmless). Outcomes that arrive while the circuit is open (calls admitted before it
opened) are counted but never move the cool-down; a probe outcome that finds the circuit already
closed (by another probe) counts as an ordinary outcome.

Each environment may keep what it read of a circuit for ``state_cache_seconds`` (a second in
the deployed app), so that under load the request path reads the state key about once a second
per model instead of before every call. The cost is bounded and harmless either way: for up to
that long an environment may send a call to a model another environment just tripped (it fails
over as any failure does) or skip one a probe just closed (the next model answers). Its own
openings and closings update its copy at once.

Each opening (a failed probe's reopening too) adds one to the model's count for the UTC hour
(``trips``), kept two days, for the provider health job; an operator's ``reset`` closes the
circuit and forgets its window and this hour's count.

The breaker must never break chat: when the store fails, ``allow`` lets the call through and
``record`` drops the outcome, both with a warning. Why not pybreaker, purgatory or aiobreaker:
their shared state is redis-py over TCP (no Upstash REST, no DynamoDB), they trip on
consecutive failures rather than a ratio over a time window, and they wrap a call, where the
pipeline needs a check before a stream and a report after it.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.metrics import MetricUnit

from parley.errors import ParleyError
from parley.routing.health import HealthWindow, Tally
from parley.telemetry import emit_metric, logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.config import Settings
    from parley.hot.base import HotStore

__all__ = [
    "TRIPS_KEEP_SECONDS",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "Permit",
    "Status",
    "policy_of",
]

Status = Literal["closed", "open", "half_open"]

# An hour's count of openings outlives the health job's retries of that hour (a day at most).
TRIPS_KEEP_SECONDS = 2 * 86_400


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    window_seconds: float = 3600  # outcomes older than this no longer count
    bucket_seconds: float = 300  # the window ages out in steps of this size
    failure_ratio: float = 0.5  # opens when failures / requests reaches this ...
    min_requests: int = 5  # ... over at least this many requests in the window
    open_seconds: float = 30  # cool-down before a half-open probe
    probe_timeout_seconds: float = 30  # a probe that never reports frees its lock after this

    def __post_init__(self) -> None:
        if not 0 < self.failure_ratio <= 1:
            raise ValueError("failure_ratio must be in (0, 1]")
        if self.min_requests < 1:
            raise ValueError("min_requests must be at least 1")
        if self.open_seconds <= 0 or self.probe_timeout_seconds <= 0:
            raise ValueError("open_seconds and probe_timeout_seconds must be positive")
        # The window's own checks (whole number of buckets) run when a breaker is built.


def policy_of(settings: Settings) -> BreakerPolicy:
    """The deployment's policy: what the chat path trips by, and what a reader of its window
    (the health job, an operator's reset) must count with to find the same keys."""
    return BreakerPolicy(
        window_seconds=settings.breaker_window_seconds,
        failure_ratio=settings.breaker_failure_ratio,
        min_requests=settings.breaker_min_requests,
        open_seconds=settings.breaker_open_seconds,
    )


@dataclass(frozen=True, slots=True)
class Permit:
    """Whether to call the model now. ``probe`` calls must be reported with ``probe=True``."""

    allowed: bool
    state: Status
    probe: bool = False
    retry_after_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class BreakerState:
    """A model's circuit as one environment sees it; ``window`` is None when not counted."""

    model: str
    status: Status
    open_until: float | None = None  # epoch seconds when a probe may go, while open
    window: Tally | None = None


_ALLOWED = Permit(allowed=True, state="closed")


class CircuitBreaker:
    """The clock is epoch seconds, shared by every environment (the cool-down's end is stored
    as a moment), injectable for tests."""

    def __init__(
        self,
        store: HotStore,
        policy: BreakerPolicy = BreakerPolicy(),
        clock: Callable[[], float] = time.time,
        prefix: str = "breaker",
        *,
        state_cache_seconds: float = 0.0,
        local_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._prefix = prefix
        self._cache_seconds = state_cache_seconds
        self._local_clock = local_clock
        # model -> (until when this copy may be used, on the local clock; open_until)
        self._seen: dict[str, tuple[float, float | None]] = {}
        self._window = HealthWindow(
            store,
            window_seconds=policy.window_seconds,
            bucket_seconds=policy.bucket_seconds,
            clock=clock,
            prefix=prefix,
        )

    @property
    def policy(self) -> BreakerPolicy:
        return self._policy

    async def allow(self, model: str) -> Permit:
        """Before each attempt: one read while closed; a probe lock write once half-open."""
        try:
            open_until = await self._open_until(model)
            if open_until is None:
                return _ALLOWED
            now = self._clock()
            if now < open_until:
                return Permit(allowed=False, state="open", retry_after_seconds=open_until - now)
            probe_lock = self._probe_key(model, open_until)
            if await self._store.set_if_absent(probe_lock, "1", self._policy.probe_timeout_seconds):
                return Permit(allowed=True, state="half_open", probe=True)
            # Another environment's probe is out; its lock lasts at most this long.
            return Permit(
                allowed=False,
                state="half_open",
                retry_after_seconds=self._policy.probe_timeout_seconds,
            )
        except ParleyError as exc:
            logger.warning("Circuit breaker unavailable; call allowed", error=exc.code, model=model)
            return _ALLOWED

    async def record(self, model: str, *, success: bool, probe: bool = False) -> BreakerState:
        """After each attempt (``probe`` as the permit said). On a store failure the outcome
        is dropped and the state reported closed, which is how ``allow`` then behaves."""
        try:
            return await self._record(model, success=success, probe=probe)
        except ParleyError as exc:
            logger.warning(
                "Circuit breaker outcome not recorded",
                error=exc.code,
                model=model,
                success=success,
                probe=probe,
            )
            return BreakerState(model, "closed")

    async def state(self, model: str) -> BreakerState:
        """The circuit and its window's counts, for health pages; store errors propagate."""
        open_until, window = await asyncio.gather(
            self._open_until(model, fresh=True), self._window.tally(model)
        )
        return BreakerState(model, self._status(open_until), open_until, window)

    async def trips(self, model: str, hour: str) -> int:
        """How many times the circuit opened in the UTC ``hour`` (``yyyy-mm-ddTHH``) of the
        last two days; store errors propagate."""
        raw = await self._store.get(self._trips_key(model, hour))
        return int(raw) if raw is not None and raw.isdigit() else 0

    async def reset(self, model: str) -> None:
        """An operator's reset: the circuit closed, its window and this hour's openings
        forgotten, so it is judged afresh from now on. Store errors propagate (the operator
        must know the reset did not happen)."""
        await self._window.clear(model)
        await self._store.delete(self._state_key(model))
        await self._store.delete(self._trips_key(model, self._hour()))
        self._remember(model, None)
        logger.info("Circuit reset", model=model)

    async def _record(self, model: str, *, success: bool, probe: bool) -> BreakerState:
        if probe:
            open_until = await self._open_until(model, fresh=True)  # rare: read the truth
            if open_until is not None:
                return await self._settle_probe(model, success=success)
            # Another probe closed the circuit already: this is an ordinary outcome.
            await self._window.add(model, success=success)
        else:
            # Both at once: the count does not depend on the state, only the decision does.
            open_until, _ = await asyncio.gather(
                self._open_until(model), self._window.add(model, success=success)
            )
        if open_until is not None:
            # A call admitted before the circuit opened: counted, but the cool-down stays.
            return BreakerState(model, self._status(open_until), open_until)
        if success:
            return BreakerState(model, "closed")
        window = await self._window.tally(model)
        if window.requests < self._policy.min_requests or (
            window.failure_ratio < self._policy.failure_ratio
        ):
            return BreakerState(model, "closed", window=window)
        until = await self._open(model)
        logger.warning(
            "Circuit opened",
            model=model,
            requests=window.requests,
            failures=window.failures,
            open_seconds=self._policy.open_seconds,
        )
        return BreakerState(model, "open", until, window)

    async def _settle_probe(self, model: str, *, success: bool) -> BreakerState:
        if not success:
            until = await self._open(model)
            logger.info("Circuit probe failed; open again", model=model)
            return BreakerState(model, "open", until)
        # Clear the window while the state still says open: every environment is refused
        # then, so only late reports of calls admitted before the circuit opened can land
        # between the two steps.
        await self._window.clear(model)
        await self._store.delete(self._state_key(model))
        self._remember(model, None)
        logger.info("Circuit closed after a successful probe", model=model)
        return BreakerState(model, "closed", window=Tally())

    async def _open(self, model: str) -> float:
        until = self._clock() + self._policy.open_seconds
        await self._store.set(
            self._state_key(model),
            json.dumps({"open_until": until}),
            ttl_seconds=self._policy.open_seconds + self._policy.window_seconds,
        )
        self._remember(model, until)
        # Each open period once, by the environment that opened it; the model is the
        # catalog's, so the dimension stays bounded.
        emit_metric("BreakerOpens", MetricUnit.Count, 1, {}, {"model": model})
        try:
            await self._store.increment(self._trips_key(model, self._hour()), TRIPS_KEEP_SECONDS)
        except ParleyError as exc:
            # The circuit is open either way; only the health page's count misses this one.
            logger.warning("Circuit opening not counted", error=exc.code, model=model)
        return until

    async def _open_until(self, model: str, *, fresh: bool = False) -> float | None:
        seen = self._seen.get(model)
        if not fresh and seen is not None and self._local_clock() < seen[0]:
            return seen[1]
        raw = await self._store.get(self._state_key(model))
        until = None if raw is None else _parse_open_until(raw)
        if raw is not None and until is None:
            logger.warning("Circuit state unreadable; treated as closed", model=model)
        self._remember(model, until)
        return until

    def _remember(self, model: str, open_until: float | None) -> None:
        if self._cache_seconds > 0:
            self._seen[model] = (self._local_clock() + self._cache_seconds, open_until)

    def _status(self, open_until: float | None) -> Status:
        if open_until is None:
            return "closed"
        return "open" if self._clock() < open_until else "half_open"

    def _state_key(self, model: str) -> str:
        return f"{self._prefix}:s:{model}"

    def _trips_key(self, model: str, hour: str) -> str:
        return f"{self._prefix}:t:{hour}:{model}"

    def _hour(self) -> str:
        return datetime.fromtimestamp(self._clock(), tz=UTC).strftime("%Y-%m-%dT%H")

    def _probe_key(self, model: str, open_until: float) -> str:
        # Every environment parses the same stored float, so they all name the same lock.
        return f"{self._prefix}:p:{round(open_until * 1000)}:{model}"


def _parse_open_until(raw: str) -> float | None:
    try:
        until = json.loads(raw)["open_until"]
    except (ValueError, TypeError, KeyError):
        return None
    # bool is an int to isinstance; a stored true is never a moment.
    if isinstance(until, bool) or not isinstance(until, int | float) or not math.isfinite(until):
        return None
    return float(until)
