"""The ledger's interface: token balances, reservations and daily spend caps, exact however
many callers spend from one balance at once.

Why reserve, then settle: a call's real cost is known only when its stream ends, and many
environments spend from one balance at once. So each request first holds an estimate, in one
step that takes it off the org's balance (``parley.budget.balances``), adds it to the user's day
(``parley.budget.spend``) and opens the request's reservation (``parley.budget.reservations``):
a balance or cap that cannot cover it refuses the whole step. Afterwards another step settles
with the real usage, giving back or charging the difference while it flips the reservation to
settled, so a retried settle charges nothing twice and the balance never goes negative.

Operations are synchronous (the DynamoDB ledger blocks; ``AsyncLedger`` runs any ledger in a
worker thread), so every backend must be safe to call from several threads at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from parley.budget import spend
from parley.budget.reservations import Reservation
from parley.budget.spend import SpendCapReached
from parley.errors import PaymentRequired

if TYPE_CHECKING:
    from parley.budget.reservations import Settlement

__all__ = ["LedgerStore", "check_grant", "check_usage", "new_hold", "payment_required"]


class LedgerStore(ABC):
    # Reads ---------------------------------------------------------------------------------

    @abstractmethod
    def balance(self, org_id: str) -> int | None:
        """The org's token balance; None when it has none (the org is unmetered)."""

    @abstractmethod
    def spent_today(self, org_id: str, user_id: str) -> float:
        """The user's settled spend on the current UTC day, in USD (running calls excluded)."""

    @abstractmethod
    def reservation(self, org_id: str, request_id: str) -> Reservation | None:
        """The request's reservation; None when it has none or it has expired."""

    # Writes --------------------------------------------------------------------------------

    @abstractmethod
    def grant(self, org_id: str, tokens: int) -> int:
        """Add tokens to the org's balance, creating it (which meters the org); the new
        balance. ValueError for a negative grant."""

    @abstractmethod
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
        """Hold ``tokens`` off the org's balance (when ``metered``) and ``cost_usd`` on the
        user's day, atomically. PaymentRequired when the balance cannot cover it,
        SpendCapReached when the day's cap cannot. A request id that already has a live
        reservation gets it back unchanged: nothing is held twice."""

    @abstractmethod
    def settle(self, held: Reservation, *, tokens: int, cost_usd: float) -> Settlement:
        """Replace the estimate with the call's real ``tokens`` and ``cost_usd``: give back
        what was held and not used, charge what was used beyond it. ``tokens=0`` releases the
        reservation (the call failed and produced nothing). A balance that cannot pay an
        overage pays what it has, ending at 0, and the rest is written off on the reservation;
        a balance removed since the hold leaves the org unmetered, charged nothing. Settling a
        settled reservation changes nothing and returns the first settlement; one never
        reserved is Conflict."""


def new_hold(
    *,
    org_id: str,
    user_id: str,
    request_id: str,
    tokens: int,
    cost_usd: float,
    daily_cap_usd: float | None,
    metered: bool,
    now: float,
) -> tuple[Reservation, int | None]:
    """What ``reserve`` asks to hold at ``now``, and the day's cap in micro-USD (None: no
    cap). ValueError when negative; SpendCapReached at once when it costs more than a whole
    day's cap."""
    if tokens < 0 or cost_usd < 0:
        raise ValueError("A reservation cannot be negative.")
    held = Reservation(
        request_id=request_id,
        org_id=org_id,
        user_id=user_id,
        tokens=tokens,
        cost_micros=spend.micros(cost_usd),
        day=spend.utc_day(now),
        metered=metered,
    )
    if daily_cap_usd is None:
        return held, None
    cap_micros = spend.micros(daily_cap_usd)
    if held.cost_micros > cap_micros:
        raise SpendCapReached.until_midnight(now, daily_cap_usd)
    return held, cap_micros


def check_grant(tokens: int) -> None:
    if tokens < 0:
        raise ValueError("A grant adds tokens; it cannot be negative.")


def check_usage(tokens: int, cost_usd: float) -> None:
    if tokens < 0 or cost_usd < 0:
        raise ValueError("Usage cannot be negative.")


def payment_required(balance: int | None, tokens: int) -> PaymentRequired:
    held = balance or 0
    return PaymentRequired(
        f"The organisation's balance ({held} tokens) is too low for this request "
        f"(about {tokens} tokens).",
        details={"balance_tokens": held, "required_tokens": tokens},
    )
