"""The ledger in memory: one process only (tests, a single development process).

One lock makes each hold and each settlement a single step, which is what the DynamoDB
ledger's transactions are; the rules are the same, so the outcomes are too: a balance that
cannot cover a hold refuses it whole, an overage the balance cannot pay is written off, a
settled reservation is settled once, and an expired one reads as absent (its expiry counted by
the clock, as DynamoDB's reads count it before TTL deletes the item).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from parley.budget import reservations, spend
from parley.budget.ledger.base import (
    LedgerStore,
    check_grant,
    check_usage,
    new_hold,
    payment_required,
)
from parley.budget.spend import MICROS_PER_USD, SpendCapReached
from parley.errors import Conflict

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.budget.reservations import Reservation, Settlement

__all__ = ["MemoryLedger"]

_DAY_SECONDS = 86_400


@dataclass
class _Day:
    """One user's UTC day: what settled calls cost, and what running calls hold."""

    spent_micros: int = 0
    reserved_micros: int = 0

    @property
    def committed_micros(self) -> int:
        return self.spent_micros + self.reserved_micros


@dataclass(frozen=True)
class _Hold:
    reservation: Reservation
    expires_at: int
    settlement: Settlement | None = None  # set once, when it settles


class MemoryLedger(LedgerStore):
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        reservation_ttl_days: float = 3,
    ) -> None:
        self._clock = clock
        self._reservation_ttl_seconds = reservation_ttl_days * _DAY_SECONDS
        self._balances: dict[str, int] = {}
        self._holds: dict[tuple[str, str], _Hold] = {}
        self._days: dict[tuple[str, str, str], _Day] = {}
        # Called from worker threads (AsyncLedger): every check and its write are one step.
        self._lock = threading.Lock()

    # Reads -------------------------------------------------------------------------------

    def balance(self, org_id: str) -> int | None:
        with self._lock:
            return self._balances.get(org_id)

    def spent_today(self, org_id: str, user_id: str) -> float:
        with self._lock:
            day = self._days.get((org_id, user_id, spend.utc_day(self._clock())))
            return 0.0 if day is None else day.spent_micros / MICROS_PER_USD

    def reservation(self, org_id: str, request_id: str) -> Reservation | None:
        with self._lock:
            hold = self._live_hold(org_id, request_id)
            return None if hold is None else hold.reservation

    # Writes ------------------------------------------------------------------------------

    def grant(self, org_id: str, tokens: int) -> int:
        check_grant(tokens)
        with self._lock:
            self._balances[org_id] = self._balances.get(org_id, 0) + tokens
            return self._balances[org_id]

    def reserve(
        self,
        *,
        org_id: str,
        user_id: str,
        request_id: str,
        tokens: int,
        cost_usd: float,
        daily_cap_usd: float | None,
        metered: bool,
    ) -> Reservation:
        now = self._clock()
        held, cap_micros = new_hold(
            org_id=org_id,
            user_id=user_id,
            request_id=request_id,
            tokens=tokens,
            cost_usd=cost_usd,
            daily_cap_usd=daily_cap_usd,
            metered=metered,
            now=now,
        )
        with self._lock:
            existing = self._live_hold(org_id, request_id)
            if existing is not None:
                return existing.reservation
            balance = self._balances.get(org_id)
            if metered and (balance is None or balance < tokens):
                raise payment_required(balance, tokens)
            day = self._days.get((org_id, user_id, held.day), _Day())
            over_cap = (
                cap_micros is not None and day.committed_micros + held.cost_micros > cap_micros
            )
            if over_cap and daily_cap_usd is not None:
                raise SpendCapReached.until_midnight(now, daily_cap_usd)
            if metered and balance is not None:
                self._balances[org_id] = balance - tokens
            day.reserved_micros += held.cost_micros
            self._days[(org_id, user_id, held.day)] = day
            expires_at = math.ceil(now + self._reservation_ttl_seconds)
            self._holds[(org_id, request_id)] = _Hold(held, expires_at)
        return held

    def settle(self, held: Reservation, *, tokens: int, cost_usd: float) -> Settlement:
        check_usage(tokens, cost_usd)
        cost_micros = spend.micros(cost_usd)
        key = (held.org_id, held.request_id)
        with self._lock:
            hold = self._holds.get(key)
            if hold is None or hold.settlement is not None:
                return self._settled_before(held)
            written_off = 0
            if held.metered and tokens != held.tokens:
                balance = self._balances.get(held.org_id)
                if balance is None:  # the balance was removed: the org is unmetered now
                    held = replace(held, metered=False)
                elif tokens < held.tokens:
                    self._balances[held.org_id] = balance + held.tokens - tokens
                else:  # the balance pays what it can of the extra, ending at 0 at worst
                    paid = min(tokens - held.tokens, balance)
                    self._balances[held.org_id] = balance - paid
                    written_off = tokens - held.tokens - paid
            settlement = reservations.settlement_for(held, tokens, written_off=written_off)
            settled = replace(hold.reservation, state="settled")
            self._holds[key] = replace(hold, reservation=settled, settlement=settlement)
            day = self._days.setdefault((held.org_id, held.user_id, held.day), _Day())
            day.reserved_micros -= held.cost_micros
            day.spent_micros += cost_micros
        return settlement

    # Helpers -----------------------------------------------------------------------------

    def _settled_before(self, held: Reservation) -> Settlement:
        hold = self._live_hold(held.org_id, held.request_id)
        if hold is None or hold.settlement is None:
            raise Conflict(f"Request {held.request_id} has no reservation to settle.")
        return hold.settlement

    def _live_hold(self, org_id: str, request_id: str) -> _Hold | None:
        hold = self._holds.get((org_id, request_id))
        if hold is None or hold.expires_at <= math.floor(self._clock()):
            return None
        return hold
