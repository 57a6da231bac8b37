"""The sliding window every backend counts with: upstash-ratelimit's ``SlidingWindow``.

Time is cut into fixed windows of ``window`` milliseconds, aligned to the epoch; each rule
counts its admitted requests per window, under the key ``<prefix>:<rule key>:<window index>``
(the library's own key format). A request ``elapsed`` milliseconds into a window sees

    weighted = floor((1 - elapsed / window) * previous window's count) + this window's count

and passes while ``weighted < limit``: the previous window's count fades out as the current
one ages, so a burst at the end of one window cannot be followed by a full burst at the start
of the next. The formula and its float arithmetic are the library's Lua script, so memory,
DynamoDB and Upstash admit exactly the same requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.budget.ratelimit.base import LimitDecision

if TYPE_CHECKING:
    from collections.abc import Sequence

    from parley.budget.ratelimit.base import RateLimit

__all__ = [
    "Counts",
    "Position",
    "Slot",
    "admitted",
    "cap",
    "decide",
    "epoch_ms",
    "refused",
    "retry_after_ms",
    "room",
    "slots",
    "storage_key",
    "window_ms",
]

_LINGER_MS = 1000  # a window's count outlives the next window by this much (as the library's)


def window_ms(window_seconds: float) -> int:
    return max(1, round(window_seconds * 1000))


def epoch_ms(seconds: float) -> int:
    """A clock reading in whole milliseconds. Rounded, not truncated: a settable clock's
    ``x.05`` s is often ``x.04999…`` as a float, which must not fall a millisecond early."""
    return round(seconds * 1000)


def storage_key(prefix: str, key: str, index: int) -> str:
    return f"{prefix}:{key}:{index}"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a moment falls among a rule's windows."""

    window_ms: int
    index: int  # which window: epoch milliseconds // window_ms
    elapsed_ms: int  # how far into it

    @classmethod
    def at(cls, size_ms: int, now_ms: int) -> Position:
        return cls(size_ms, now_ms // size_ms, now_ms % size_ms)

    @property
    def until_end_ms(self) -> int:
        return self.window_ms - self.elapsed_ms

    @property
    def expires_ms(self) -> int:
        """When this window's count stops mattering: once the next window, which weighs it,
        has ended, plus a second of slack for clocks that disagree."""
        return (self.index + 2) * self.window_ms + _LINGER_MS


@dataclass(frozen=True, slots=True)
class Counts:
    """A rule's admitted requests in the current window and in the one before."""

    current: int = 0
    previous: int = 0


@dataclass(frozen=True, slots=True)
class Slot:
    """One rule at one moment: its window and the storage keys of that window and the last."""

    rule: RateLimit
    position: Position
    key: str
    previous_key: str


def slots(rules: Sequence[RateLimit], prefix: str, now_ms: int) -> list[Slot]:
    found = []
    for rule in rules:
        position = Position.at(window_ms(rule.window_seconds), now_ms)
        found.append(
            Slot(
                rule,
                position,
                storage_key(prefix, rule.key, position.index),
                storage_key(prefix, rule.key, position.index - 1),
            )
        )
    return found


def cap(limit: int, previous: int, position: Position) -> int:
    """What the current window's count must stay below for a request to pass now: the limit
    less the previous window's weighted count."""
    return limit - _weighted(position, previous)


def room(limit: int, counts: Counts, position: Position) -> int:
    """How many more requests would pass at this moment (zero or less: none)."""
    return cap(limit, counts.previous, position) - counts.current


def retry_after_ms(limit: int, current: int, position: Position) -> int:
    """How long until a request would pass if nothing else were counted meanwhile. At least
    the rest of this window, as the library's ``reset`` says; a window that has reached its
    limit also weighs on the next, so then the wait runs into the next window until that
    weight has faded below the limit."""
    if current < limit:
        return position.until_end_ms
    size = position.window_ms
    # The next window passes a request once floor((1 - e / size) * current) < limit, that is
    # e > size * (current - limit) / current; start there and step past float rounding.
    for elapsed in range(size * (current - limit) // current, size):
        if room(limit, Counts(previous=current), Position(size, position.index + 1, elapsed)) > 0:
            return position.until_end_ms + elapsed
    return position.until_end_ms + size  # the window after next no longer sees this one


def decide(found: Sequence[Slot], counts: Sequence[Counts]) -> LimitDecision:
    """Refused by the first rule without room, else allowed (with what each has left after
    this request)."""
    for slot, count in zip(found, counts, strict=True):
        if room(slot.rule.limit, count, slot.position) <= 0:
            return refused(slot.rule, count, slot.position)
    return admitted(
        [slot.rule for slot in found],
        [room(s.rule.limit, c, s.position) - 1 for s, c in zip(found, counts, strict=True)],
    )


def refused(rule: RateLimit, counts: Counts, position: Position) -> LimitDecision:
    return LimitDecision(
        allowed=False,
        limit=rule.limit,
        remaining=0,
        retry_after_seconds=retry_after_ms(rule.limit, counts.current, position) / 1000,
        scope=rule.scope,
        window_seconds=rule.window_seconds,
    )


def admitted(rules: Sequence[RateLimit], remaining: Sequence[int]) -> LimitDecision:
    """Allowed, reporting the tightest rule: the one with the fewest requests left."""
    tightest = min(range(len(rules)), key=lambda index: remaining[index])
    return LimitDecision(
        allowed=True,
        limit=rules[tightest].limit,
        remaining=max(0, remaining[tightest]),
        window_seconds=rules[tightest].window_seconds,
    )


def _weighted(position: Position, previous: int) -> int:
    # The library's Lua, operation for operation: (1 - (now % window) / window) * previous.
    return math.floor((1 - position.elapsed_ms / position.window_ms) * previous)
