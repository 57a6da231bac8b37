"""One contract, two backends: every LedgerStore keeps the same books, in DynamoDB (moto on
loopback, its table made from template.yaml) and in memory. Concurrency tests run real threads
against each, as Lambda environments would. What the DynamoDB ledger writes, and how it fails,
is in test_budget.py."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import anyio
import pytest

from parley.budget.ledger import AsyncLedger
from parley.budget.reservations import Reservation, Settlement
from parley.budget.spend import SpendCapReached
from parley.errors import Conflict, PaymentRequired
from tests.support.clock import FakeClock
from tests.support.ledger import ORG, USER, reserve, run_together
from tests.support.stores import BACKENDS, ledger_store

if TYPE_CHECKING:
    from parley.budget.ledger import LedgerStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock.at("2026-11-22T21:30:00")


@pytest.fixture(params=BACKENDS)
def ledger(request: pytest.FixtureRequest, clock: FakeClock) -> LedgerStore:
    return ledger_store(request, request.param, clock)


# Balances -------------------------------------------------------------------------------


def test_an_org_without_a_balance_is_unmetered_until_granted(ledger: LedgerStore) -> None:
    assert ledger.balance(ORG) is None
    assert ledger.grant(ORG, 5_000) == 5_000
    assert ledger.grant(ORG, 2_500) == 7_500
    assert ledger.balance(ORG) == 7_500
    assert ledger.balance("another-org") is None


def test_negative_amounts_are_refused(ledger: LedgerStore) -> None:
    with pytest.raises(ValueError, match="grant"):
        ledger.grant(ORG, -1)
    with pytest.raises(ValueError, match="reservation"):
        reserve(ledger, "req-1", tokens=-1)
    held = reserve(ledger, "req-1", metered=False)
    with pytest.raises(ValueError, match="Usage"):
        ledger.settle(held, tokens=1, cost_usd=-0.5)


def test_a_reservation_holds_the_estimate_and_settling_refunds_what_a_cut_stream_left(
    ledger: LedgerStore,
) -> None:
    ledger.grant(ORG, 10_000)
    held = reserve(ledger, "req-1", tokens=3_000, cost_usd=0.03)
    assert held.state == "reserved"
    assert ledger.balance(ORG) == 7_000
    assert ledger.reservation(ORG, "req-1") == held
    assert ledger.spent_today(ORG, USER) == 0  # a running call is held, not spent

    # The stream was cut after 1,200 tokens: the rest of the hold goes back.
    settled = ledger.settle(held, tokens=1_200, cost_usd=0.012)

    assert settled == Settlement(charged_tokens=1_200, refunded_tokens=1_800, written_off_tokens=0)
    assert ledger.balance(ORG) == 10_000 - 1_200
    assert ledger.spent_today(ORG, USER) == pytest.approx(0.012)
    assert ledger.reservation(ORG, "req-1") == replace(held, state="settled")


def test_using_more_than_reserved_charges_the_extra(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 10_000)
    held = reserve(ledger, "req-1", tokens=1_000)
    assert ledger.settle(held, tokens=1_500, cost_usd=0.015) == Settlement(1_500, 0, 0)
    assert ledger.balance(ORG) == 8_500


def test_an_overage_the_balance_cannot_pay_ends_at_zero_and_is_written_off(
    ledger: LedgerStore,
) -> None:
    ledger.grant(ORG, 1_200)
    held = reserve(ledger, "req-1", tokens=1_000)
    assert ledger.balance(ORG) == 200

    settled = ledger.settle(held, tokens=1_500, cost_usd=0.015)

    assert settled == Settlement(charged_tokens=1_200, refunded_tokens=0, written_off_tokens=300)
    assert ledger.balance(ORG) == 0


def test_a_balance_too_low_answers_402_and_holds_nothing(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 500)
    with pytest.raises(PaymentRequired) as refused:
        reserve(ledger, "req-1", tokens=501, cap=10.0)
    assert refused.value.status == 402
    assert "500 tokens" in refused.value.message
    assert refused.value.details == {"balance_tokens": 500, "required_tokens": 501}
    assert ledger.balance(ORG) == 500
    assert ledger.reservation(ORG, "req-1") is None
    # Nothing was held on the day either: the whole cap is still there.
    reserve(ledger, "req-2", tokens=500, cost_usd=10.0, cap=10.0)


def test_a_metered_reservation_for_an_org_without_balance_is_refused(ledger: LedgerStore) -> None:
    with pytest.raises(PaymentRequired):
        reserve(ledger, "req-1", tokens=1)


def test_an_unmetered_org_is_never_blocked_and_gets_no_balance(ledger: LedgerStore) -> None:
    held = reserve(ledger, "req-1", tokens=10**12, cost_usd=3.0, metered=False)
    assert ledger.settle(held, tokens=10**12 + 5, cost_usd=3.5) == Settlement(0, 0, 0)
    assert ledger.balance(ORG) is None
    assert ledger.spent_today(ORG, USER) == pytest.approx(3.5)


def test_settling_zero_tokens_releases_the_whole_reservation(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 2_000)
    held = reserve(ledger, "req-1", tokens=1_500, cost_usd=0.5, cap=1.0)
    assert ledger.settle(held, tokens=0, cost_usd=0) == Settlement(0, 1_500, 0)
    assert ledger.balance(ORG) == 2_000
    assert ledger.spent_today(ORG, USER) == 0
    # The released hold no longer counts against the cap.
    reserve(ledger, "req-2", tokens=1_500, cost_usd=1.0, cap=1.0)


def test_a_hold_metered_against_a_balance_the_org_no_longer_has_charges_nothing(
    ledger: LedgerStore,
) -> None:
    # GIVEN a hold that says it was metered, for an org that has no balance (any more)
    held = replace(reserve(ledger, "req-1", tokens=1_000, metered=False), metered=True)
    # THEN settling it leaves the org unmetered rather than create a balance for it
    assert ledger.settle(held, tokens=400, cost_usd=0.004) == Settlement(0, 0, 0)
    assert ledger.balance(ORG) is None
    assert ledger.spent_today(ORG, USER) == pytest.approx(0.004)


# Idempotency ----------------------------------------------------------------------------


def test_reserving_the_same_request_twice_holds_once(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 5_000)
    first = reserve(ledger, "req-1", tokens=1_000)
    again = reserve(ledger, "req-1", tokens=4_000, cost_usd=0.04)
    assert again == first
    assert ledger.balance(ORG) == 4_000


def test_settling_twice_charges_once_and_returns_the_first_settlement(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 5_000)
    held = reserve(ledger, "req-1", tokens=1_000)
    first = ledger.settle(held, tokens=1_400, cost_usd=0.014)
    assert ledger.settle(held, tokens=900, cost_usd=0.009) == first
    assert ledger.balance(ORG) == 3_600
    assert ledger.spent_today(ORG, USER) == pytest.approx(0.014)
    # A retried reserve after settling finds the settled reservation and holds nothing.
    assert reserve(ledger, "req-1").state == "settled"
    assert ledger.balance(ORG) == 3_600


def test_settling_a_request_never_reserved_is_a_conflict(ledger: LedgerStore) -> None:
    ghost = Reservation(
        "req-x", ORG, USER, tokens=10, cost_micros=1, day="2026-11-22", metered=True
    )
    with pytest.raises(Conflict):
        ledger.settle(ghost, tokens=10, cost_usd=0.001)


def test_an_expired_reservation_reads_as_absent_before_ttl_deletes_it(
    ledger: LedgerStore, clock: FakeClock
) -> None:
    ledger.grant(ORG, 5_000)
    reserve(ledger, "req-1", tokens=1_000)
    assert ledger.reservation(ORG, "req-1") is not None
    clock.now += 4 * 86_400
    assert ledger.reservation(ORG, "req-1") is None
    assert reserve(ledger, "req-1", tokens=1_000).day == "2026-11-26"


def test_an_expired_settled_reservation_cannot_be_settled_again(
    ledger: LedgerStore, clock: FakeClock
) -> None:
    held = reserve(ledger, "req-1", metered=False)
    ledger.settle(held, tokens=10, cost_usd=0.001)
    clock.now += 4 * 86_400
    with pytest.raises(Conflict):
        ledger.settle(held, tokens=10, cost_usd=0.001)


# Daily spend caps -----------------------------------------------------------------------


def test_the_daily_cap_blocks_until_the_next_utc_midnight(
    ledger: LedgerStore, clock: FakeClock
) -> None:
    ledger.grant(ORG, 100_000)
    reserve(ledger, "req-1", cost_usd=0.6, cap=1.0)
    reserve(ledger, "req-2", cost_usd=0.4, cap=1.0)  # exactly at the cap: allowed

    with pytest.raises(SpendCapReached) as refused:
        reserve(ledger, "req-3", cost_usd=0.000001, cap=1.0)
    error = refused.value
    assert (error.status, error.code) == (429, "spend_cap_reached")
    assert error.retry_after == 2.5 * 3600  # 21:30 UTC to midnight
    assert error.headers()["Retry-After"] == "9000"
    # The refused hold held nothing: not the balance, not the reservation.
    assert ledger.balance(ORG) == 98_000
    assert ledger.reservation(ORG, "req-3") is None
    # Other users have their own day.
    reserve(ledger, "req-4", cost_usd=0.9, cap=1.0, user="bob")


def test_a_new_utc_day_starts_from_zero(ledger: LedgerStore, clock: FakeClock) -> None:
    held = reserve(ledger, "req-1", cost_usd=1.0, cap=1.0, metered=False)
    ledger.settle(held, tokens=1_000, cost_usd=1.0)
    with pytest.raises(SpendCapReached):
        reserve(ledger, "req-2", cost_usd=0.1, cap=1.0, metered=False)

    clock.now += 2.5 * 3600  # midnight UTC
    assert ledger.spent_today(ORG, USER) == 0
    assert reserve(ledger, "req-2", cost_usd=0.1, cap=1.0, metered=False).day == "2026-11-23"


def test_the_last_calls_overage_may_pass_the_cap_and_then_blocks(ledger: LedgerStore) -> None:
    held = reserve(ledger, "req-1", cost_usd=0.9, cap=1.0, metered=False)
    ledger.settle(held, tokens=2_000, cost_usd=1.3)
    assert ledger.spent_today(ORG, USER) == pytest.approx(1.3)
    with pytest.raises(SpendCapReached):
        reserve(ledger, "req-2", cost_usd=0.0, cap=1.0, metered=False)


def test_a_call_costing_more_than_the_whole_cap_is_refused(ledger: LedgerStore) -> None:
    with pytest.raises(SpendCapReached):
        reserve(ledger, "req-1", cost_usd=2.0, cap=1.0, metered=False)


def test_money_is_kept_in_whole_micro_dollars(ledger: LedgerStore) -> None:
    for index in range(10):
        held = reserve(ledger, f"req-{index}", cost_usd=0.1, metered=False)
        ledger.settle(held, tokens=10, cost_usd=0.1)
    assert ledger.spent_today(ORG, USER) == 1.0  # ten float 0.1s would sum to 0.999…


# Concurrency ----------------------------------------------------------------------------


def test_concurrent_settlements_of_different_requests_leave_the_right_balance(
    ledger: LedgerStore,
) -> None:
    start = 1_000_000
    ledger.grant(ORG, start)
    rounds = [(1_000, 700, 1_900), (2_000, 2_000, 0), (500, 5_000, 10), (3_000, 1, 3_001)]
    expected = start
    for number, (held, used_a, used_b) in enumerate(rounds):
        a = reserve(ledger, f"a-{number}", tokens=held)
        b = reserve(ledger, f"b-{number}", tokens=held)
        outcomes = run_together(
            [
                partial(ledger.settle, a, tokens=used_a, cost_usd=used_a / 1e5),
                partial(ledger.settle, b, tokens=used_b, cost_usd=used_b / 1e5),
            ]
        )
        assert all(isinstance(outcome, Settlement) for outcome in outcomes)
        expected -= used_a + used_b
        assert ledger.balance(ORG) == expected


def test_one_reservation_settled_concurrently_is_charged_once(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 10_000)
    held = reserve(ledger, "req-1", tokens=1_000, cost_usd=0.01)
    outcomes = run_together(
        [lambda: ledger.settle(held, tokens=1_600, cost_usd=0.016) for _ in range(6)]
    )
    assert outcomes == [Settlement(1_600, 0, 0)] * 6
    assert ledger.balance(ORG) == 8_400
    assert ledger.spent_today(ORG, USER) == pytest.approx(0.016)


def test_concurrent_reservations_admit_exactly_what_the_cap_covers(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 1_000_000)
    outcomes = run_together(
        [partial(reserve, ledger, f"req-{index}", cost_usd=0.25, cap=1.0) for index in range(7)]
    )
    assert sum(isinstance(o, Reservation) for o in outcomes) == 4
    assert sum(isinstance(o, SpendCapReached) for o in outcomes) == 3


def test_concurrent_overages_never_take_the_balance_below_zero(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 5_000)
    held = [reserve(ledger, f"req-{index}", tokens=1_000) for index in range(4)]
    assert ledger.balance(ORG) == 1_000
    outcomes = run_together([partial(ledger.settle, r, tokens=1_600, cost_usd=0.016) for r in held])
    settlements = [o for o in outcomes if isinstance(o, Settlement)]
    assert len(settlements) == 4
    assert ledger.balance(ORG) == 0
    # Every token was either paid from the balance or written off, none twice.
    assert sum(s.charged_tokens for s in settlements) == 5_000
    assert sum(s.written_off_tokens for s in settlements) == 4 * 1_600 - 5_000


def test_the_balance_after_a_run_equals_the_recorded_usage(ledger: LedgerStore) -> None:
    ledger.grant(ORG, 200_000)
    usage = [(index * 37) % 2_500 for index in range(12)]
    held = [reserve(ledger, f"req-{index}", tokens=1_500) for index in range(len(usage))]
    run_together(
        [
            partial(ledger.settle, r, tokens=used, cost_usd=used / 1e6)
            for r, used in zip(held, usage, strict=True)
        ]
    )
    assert ledger.balance(ORG) == 200_000 - sum(usage)


# The async facade -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_async_ledger_runs_the_same_operations(ledger: LedgerStore) -> None:
    accounts = AsyncLedger(ledger)
    assert await accounts.grant(ORG, 10_000) == 10_000
    held: list[Reservation] = []

    async def run_one(index: int) -> None:
        reservation = await accounts.reserve(
            org_id=ORG,
            user_id=USER,
            request_id=f"req-{index}",
            tokens=2_000,
            cost_usd=0.02,
            daily_cap_usd=None,
            metered=True,
        )
        held.append(reservation)
        await accounts.settle(reservation, tokens=500 + index, cost_usd=0.005)

    async with anyio.create_task_group() as group:
        for index in range(4):
            group.start_soon(run_one, index)
    assert len(held) == 4
    assert await accounts.balance(ORG) == 10_000 - (500 * 4 + 0 + 1 + 2 + 3)
    assert await accounts.spent_today(ORG, USER) == pytest.approx(0.02)
    settled = await accounts.reservation(ORG, "req-0")
    assert settled is not None
    assert settled.state == "settled"
