"""The rate-limiter interface: admit a request only if every rule it falls under has room.

The chat pipeline calls ``acquire`` once per request, before anything else is consumed, with
the user's rule and the org's. Two promises hold on every backend:

- atomic across environments: however many Lambda environments race, a window admits no more
  than its limit (memory only promises this within one process);
- a refused request consumes nothing: it is counted against no rule, neither the one that
  refused it nor the others checked with it, so a client that keeps retrying too early does
  not push its own limit further away.

Every backend counts the same sliding window (``parley.budget.ratelimit.sliding``), so a
deployment that moves from DynamoDB to Upstash admits the same requests.

Failure policy: the limiter must never break chat. When its backend fails or times out
(``ServiceUnavailable``, ``UpstreamTimeout``), ``acquire`` logs a warning and lets the request
through (fails open), as the circuit breaker does: a few minutes of unlimited requests during
an outage of the hot store cost less than refusing every chat while it lasts. Other errors (a
missing table, a malformed rule) are bugs to surface, and propagate.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.budget.ratelimit.errors import RateLimitExceeded
from parley.errors import ServiceUnavailable, UpstreamTimeout
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["LimitDecision", "RateLimit", "RateLimiter"]

_SHORTEST_WINDOW_SECONDS = 0.001  # windows are counted in whole milliseconds


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One rule: at most ``limit`` requests per ``window_seconds`` for ``key``."""

    scope: str  # "user" or "org": named in the 429's details and the log
    key: str  # e.g. "user:<org>:<user>" / "org:<org>"; the limiter prefixes it
    limit: int  # requests per window, > 0
    window_seconds: float  # e.g. 60

    def __post_init__(self) -> None:
        if not self.scope or not self.key:
            raise ValueError("A rate limit needs a scope and a key.")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"A rate limit allows at least one request, not {self.limit!r}.")
        if not math.isfinite(self.window_seconds) or (
            self.window_seconds < _SHORTEST_WINDOW_SECONDS
        ):
            raise ValueError(f"A rate-limit window is at least 1 ms, not {self.window_seconds!r}.")


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """Whether the request may go on. ``limit``, ``remaining`` and ``window_seconds`` are the
    refusing rule's when refused, the tightest rule's (fewest left) when allowed; all are None
    when no rule was checked (no rules, or the backend failed and the request was let through).
    """

    allowed: bool
    limit: int | None = None
    remaining: int | None = None
    retry_after_seconds: float = 0.0  # when refused: how long until a retry can pass
    scope: str | None = None  # the refusing rule's scope
    window_seconds: float | None = None

    def raise_if_refused(self) -> None:
        """Raise the 429 (``RateLimitExceeded``, with Retry-After) when not allowed."""
        if not self.allowed:
            raise RateLimitExceeded(
                scope=self.scope,
                limit=self.limit,
                window_seconds=self.window_seconds,
                retry_after=self.retry_after_seconds,
            )


# No rule was checked: no rules, or a backend that failed and let the request through.
_UNCHECKED = LimitDecision(allowed=True)


class RateLimiter(ABC):
    """Backends implement ``_acquire``; ``acquire`` adds the checks and the failure policy."""

    async def acquire(self, rules: Sequence[RateLimit]) -> LimitDecision:
        """Admit one request only if EVERY rule has room, counting it against all of them;
        when refused, nothing is counted for any rule. Rules are checked in order and the
        first without room is the one reported: list the narrowest first (the user's, then
        the org's), which on Upstash also keeps one user's refused requests from briefly
        holding the org's room (see ``upstash``). An empty sequence is always allowed, with
        no I/O."""
        if not rules:
            return _UNCHECKED
        keys = [rule.key for rule in rules]
        if len(set(keys)) != len(keys):
            raise ValueError(f"Each rate limit needs its own key: {keys}")
        try:
            decision = await self._acquire(rules)
        except (ServiceUnavailable, UpstreamTimeout) as exc:
            logger.warning(
                "Rate limiter unavailable; request allowed",
                error=exc.code,
                scopes=[rule.scope for rule in rules],
            )
            return _UNCHECKED
        if not decision.allowed:
            logger.info(
                "Rate limited",
                scope=decision.scope,
                limit=decision.limit,
                window_seconds=decision.window_seconds,
                retry_after_seconds=round(decision.retry_after_seconds, 3),
            )
        return decision

    @abstractmethod
    async def _acquire(self, rules: Sequence[RateLimit]) -> LimitDecision:
        """The decision for one request under ``rules`` (at least one, keys distinct). Raise
        ``ServiceUnavailable`` or ``UpstreamTimeout`` when the backend fails."""

    async def close(self) -> None:  # noqa: B027 (optional hook; most backends hold nothing)
        """Release connections; the default has nothing to release."""
