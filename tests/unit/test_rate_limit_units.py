"""The rate limiter's pure parts: the sliding-window arithmetic, the rules, the 429, and the
interface's own promises (no I/O for no rules, distinct keys, failing open)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from parley.budget.ratelimit import LimitDecision, RateLimit, RateLimiter, RateLimitExceeded
from parley.budget.ratelimit.dynamodb import DynamoDBRateLimiter
from parley.budget.ratelimit.sliding import Counts, Position, retry_after_ms, room, window_ms
from parley.budget.ratelimit.upstash import UpstashRateLimiter
from parley.errors import (
    ConfigurationError,
    ParleyError,
    RateLimited,
    ServiceUnavailable,
    UpstreamTimeout,
)
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Sequence

pytestmark = pytest.mark.anyio


# The sliding window ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed_ms", "previous", "current", "expected"),
    [
        (0, 4, 0, 0),  # the whole previous window still weighs
        (1, 4, 0, 1),  # floor(0.999 * 4) = 3
        (500, 4, 0, 2),  # half of it
        (500, 4, 1, 1),
        (750, 4, 0, 3),  # floor(0.25 * 4) = 1
        (999, 4, 3, 1),  # floor(0.001 * 4) = 0
        (250, 0, 4, 0),
        (250, 0, 6, -2),  # over a lowered limit
    ],
)
def test_room_is_the_limit_less_the_weighted_previous_and_current_counts(
    elapsed_ms: int, previous: int, current: int, expected: int
) -> None:
    position = Position(1000, 7, elapsed_ms)
    assert room(4, Counts(current, previous), position) == expected


def test_a_position_is_the_window_and_how_far_into_it() -> None:
    position = Position.at(60_000, 1_800_000_010_500)
    assert (position.index, position.elapsed_ms, position.until_end_ms) == (
        30_000_000,
        10_500,
        49_500,
    )
    # A window's count matters until the next window, which weighs it, ends; then 1 s slack.
    assert position.expires_ms == 30_000_002 * 60_000 + 1000
    assert (window_ms(60), window_ms(0.25), window_ms(0.001)) == (60_000, 250, 1)


def passes(limit: int, counts_at: dict[int, Counts], size: int, moment: int) -> bool:
    position = Position.at(size, moment)
    return room(limit, counts_at.get(position.index, Counts()), position) > 0


@pytest.mark.parametrize("size", [7, 1000, 60_000])
@pytest.mark.parametrize("limit", [1, 2, 3, 20])
def test_retry_after_is_the_first_moment_a_request_passes_once_the_window_ends(
    size: int, limit: int
) -> None:
    for current in range(3 * limit + 1):
        for elapsed in {0, 1, size // 3, size - 1}:
            position = Position(size, 10, elapsed)
            moment = 10 * size + elapsed
            wait = retry_after_ms(limit, current, position)
            # The window's count becomes the previous one; nothing else is counted.
            counts_at = {11: Counts(previous=current)}
            assert wait >= position.until_end_ms, (current, elapsed)
            assert passes(limit, counts_at, size, moment + wait), (current, elapsed)
            if wait > position.until_end_ms:  # the next window: not a millisecond sooner
                assert not passes(limit, counts_at, size, moment + wait - 1), (current, elapsed)


def test_retry_after_a_full_window_runs_into_the_next_by_how_much_it_is_over() -> None:
    position = Position(60_000, 5, 10_000)  # 50 s left
    assert retry_after_ms(20, 19, position) == 50_000  # under the limit: the window's end
    assert retry_after_ms(20, 20, position) == 50_001  # at it: just after
    assert retry_after_ms(20, 40, position) == 50_000 + 30_001  # twice it: half-way


# Rules and decisions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "window"),
    [(0, 60), (-1, 60), (True, 60), (2.5, 60), (5, 0), (5, -1), (5, float("nan")), (5, 0.0001)],
)
def test_a_rule_needs_a_positive_whole_limit_and_a_window_of_a_millisecond_or_more(
    limit: Any, window: float
) -> None:
    with pytest.raises(ValueError, match=r"rate.limit"):
        RateLimit("user", "user:acme:alice", limit, window)


def test_a_rule_needs_a_scope_and_a_key() -> None:
    with pytest.raises(ValueError, match="scope and a key"):
        RateLimit("user", "", 5, 60)


def test_an_allowed_decision_raises_nothing() -> None:
    LimitDecision(allowed=True, limit=20, remaining=3, window_seconds=60).raise_if_refused()


def test_a_refusal_is_a_429_that_says_which_limit_and_when_to_retry() -> None:
    refusal = LimitDecision(
        allowed=False,
        limit=20,
        remaining=0,
        retry_after_seconds=11.2,
        scope="user",
        window_seconds=60,
    )
    with pytest.raises(RateLimitExceeded) as raised:
        refusal.raise_if_refused()
    error = raised.value
    assert isinstance(error, RateLimited)
    assert (error.status, error.code, error.retryable) == (429, "rate_limited", True)
    assert error.headers() == {"Retry-After": "12"}
    assert error.body() == {
        "error": {
            "code": "rate_limited",
            "message": "Too many requests: at most 20 requests a minute per user; retry in 12 s.",
            "retryable": True,
            "details": {"scope": "user", "limit": 20, "window_seconds": 60},
        }
    }


@pytest.mark.parametrize(
    ("scope", "limit", "window", "retry", "message"),
    [
        (
            "org",
            1,
            3600,
            0.2,
            "Too many requests: at most 1 request an hour per organisation; retry in 1 s.",
        ),
        (
            "user",
            5,
            30,
            29.5,
            "Too many requests: at most 5 requests every 30 seconds per user; retry in 30 s.",
        ),
        (None, None, None, 3.0, "Too many requests; retry in 3 s."),
    ],
)
def test_the_message_names_the_limit_in_words(
    scope: str | None, limit: int | None, window: float | None, retry: float, message: str
) -> None:
    error = RateLimitExceeded(scope=scope, limit=limit, window_seconds=window, retry_after=retry)
    assert error.message == message


# The interface's promises ------------------------------------------------------------------------


class Scripted(RateLimiter):
    """A backend that answers, or fails, as the test says."""

    def __init__(self, outcome: LimitDecision | ParleyError) -> None:
        self.outcome = outcome
        self.calls: list[list[RateLimit]] = []

    async def _acquire(self, rules: Sequence[RateLimit]) -> LimitDecision:
        self.calls.append(list(rules))
        if isinstance(self.outcome, ParleyError):
            raise self.outcome
        return self.outcome


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    lines: list[tuple[str, str, dict[str, Any]]] = []
    for level in ("info", "warning"):
        monkeypatch.setattr(
            logger, level, lambda msg, _level=level, **keys: lines.append((_level, msg, keys))
        )
    return lines


USER = RateLimit("user", "user:acme:alice", 20, 60)
ORG = RateLimit("org", "org:acme", 100, 60)


async def test_no_rules_is_allowed_without_touching_the_backend() -> None:
    # Clients that fail on any use: the limiters must not call them.
    for limiter in (
        DynamoDBRateLimiter("parley-hot", client=object()),  # type: ignore[arg-type]
        UpstashRateLimiter(object()),  # type: ignore[arg-type]
    ):
        decision = await limiter.acquire([])
        assert (decision.allowed, decision.limit, decision.scope) == (True, None, None)


async def test_each_rule_needs_its_own_key() -> None:
    limiter = Scripted(LimitDecision(allowed=True))
    with pytest.raises(ValueError, match="own key"):
        await limiter.acquire([USER, RateLimit("org", USER.key, 5, 60)])
    assert limiter.calls == []


@pytest.mark.parametrize(
    ("failure", "code"),
    [(ServiceUnavailable(), "service_unavailable"), (UpstreamTimeout(), "upstream_timeout")],
)
async def test_a_failing_backend_lets_the_request_through_with_a_warning(
    failure: ParleyError, code: str, logged: list[tuple[str, str, dict[str, Any]]]
) -> None:
    decision = await Scripted(failure).acquire([USER, ORG])
    assert (decision.allowed, decision.limit, decision.remaining) == (True, None, None)
    assert logged == [
        (
            "warning",
            "Rate limiter unavailable; request allowed",
            {"error": code, "scopes": ["user", "org"]},
        )
    ]


async def test_a_misconfigured_backend_is_not_hidden() -> None:
    with pytest.raises(ConfigurationError):
        await Scripted(ConfigurationError("Table parley-hot does not exist.")).acquire([USER])


async def test_a_refusal_is_logged_with_its_scope(
    logged: list[tuple[str, str, dict[str, Any]]],
) -> None:
    refusal = LimitDecision(
        allowed=False,
        limit=100,
        remaining=0,
        retry_after_seconds=4.25,
        scope="org",
        window_seconds=60,
    )
    assert await Scripted(refusal).acquire([USER, ORG]) is refusal
    assert logged == [
        (
            "info",
            "Rate limited",
            {"scope": "org", "limit": 100, "window_seconds": 60, "retry_after_seconds": 4.25},
        )
    ]
