"""The budget's pure parts: estimates, micro-dollars, UTC days, the spend-cap error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.budget.reservations import Reservation
from parley.budget.spend import SpendCapReached, micros, seconds_to_next_utc_day, utc_day
from parley.errors import RateLimited
from parley.providers.tokens import estimate_tokens


def at(moment: str) -> float:
    return datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("prompt_chars", "max_output", "expected"),
    [(0, 0, 0), (1, 0, 1), (4, 100, 101), (5, 100, 102), (4_001, 1_024, 2_025)],
)
def test_an_estimate_is_input_chars_over_four_rounded_up_plus_all_output(
    prompt_chars: int, max_output: int, expected: int
) -> None:
    # What a hold reserves (chat.billing): the route's prompt tokens, estimated from the
    # prompt's characters, plus its whole output budget.
    assert estimate_tokens("x" * prompt_chars) + max_output == expected


@pytest.mark.parametrize(
    ("usd", "expected"), [(0.0, 0), (0.0003, 300), (0.1, 100_000), (1.2345675, 1_234_568)]
)
def test_dollars_become_whole_micro_dollars_without_float_error(usd: float, expected: int) -> None:
    assert micros(usd) == expected


def test_a_reservation_reports_its_cost_in_dollars() -> None:
    held = Reservation("r", "o", "u", tokens=1, cost_micros=12_500, day="2026-01-01", metered=True)
    assert held.cost_usd == 0.0125


def test_days_are_utc_and_end_at_utc_midnight() -> None:
    assert utc_day(at("2026-03-01T23:59:59")) == "2026-03-01"
    assert utc_day(at("2026-03-02T00:00:00")) == "2026-03-02"
    assert seconds_to_next_utc_day(at("2026-03-01T23:59:30")) == 30
    assert seconds_to_next_utc_day(at("2026-03-02T00:00:00")) == 86_400


def test_the_spend_cap_error_is_a_429_that_says_when_to_retry() -> None:
    error = SpendCapReached.until_midnight(at("2026-03-01T18:00:00"), 2.5)
    assert isinstance(error, RateLimited)
    assert (error.status, error.code, error.retryable) == (429, "spend_cap_reached", True)
    assert error.headers()["Retry-After"] == str(6 * 3600)
    assert error.body()["error"]["code"] == "spend_cap_reached"
    assert "$2.50" in error.message
