"""Holding what a chat may cost before its first provider call, and charging what it did cost.

Before the call, ``hold`` reserves an estimate on the ledger: the prompt's tokens plus the
route's whole output budget off a metered org's balance, and its price on the user's day when
the org caps daily spend. A balance that cannot cover it answers 402, except in ``auto`` mode,
where the request is routed again to the cheap chain with the output budget the balance can
still pay for (402 only when that leaves fewer than ``MIN_ANSWER_TOKENS``). After the call,
``settle`` charges the real tokens of every attempt, failovers and cut streams included, and
gives back the rest; the ledger makes a repeated settle charge nothing.

An org with neither a balance nor a cap writes nothing to the ledger: there is nothing to
enforce, and what its users spend is in the usage events. A cap counts from when it is set.

Every request reads its org's balance (to route a low balance to the cheap chain); an org found
without one is remembered as unmetered for ``unmetered_seconds`` (the org settings' cache
time), so the requests of unmetered orgs, most deployments' only kind, read nothing. An org's
first grant therefore meters it within that time in every Lambda environment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.errors import ParleyError, PaymentRequired
from parley.providers.base import Usage
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.auth.identity import Identity
    from parley.budget.ledger import AsyncLedger
    from parley.budget.reservations import Reservation
    from parley.orgs.settings import OrgSettings
    from parley.routing.plan import Route

__all__ = ["MIN_ANSWER_TOKENS", "Charges", "Hold"]

# Fewer output tokens than this is not an answer worth starting.
MIN_ANSWER_TOKENS = 16


@dataclass(frozen=True, slots=True)
class Hold:
    """What a request holds on the ledger; ``reservation`` None when it holds nothing."""

    charge_id: str
    reservation: Reservation | None = None


class Charges:
    def __init__(
        self,
        ledger: AsyncLedger,
        *,
        unmetered_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._unmetered_seconds = unmetered_seconds
        self._clock = clock
        self._unmetered_until: dict[str, float] = {}

    async def balance(self, org_id: str) -> int | None:
        """The org's token balance, None when it is unmetered (remembered for a while)."""
        until = self._unmetered_until.get(org_id)
        if until is not None and self._clock() < until:
            return None
        balance = await self._ledger.balance(org_id)
        if balance is None:
            self._unmetered_until[org_id] = self._clock() + self._unmetered_seconds
        else:
            self._unmetered_until.pop(org_id, None)
        return balance

    async def hold(
        self,
        *,
        identity: Identity,
        route: Route,
        settings: OrgSettings,
        balance: int | None,
        charge_id: str,
        cheaper: Callable[[int], Route],
    ) -> tuple[Route, Hold]:
        """The route to take (``cheaper(max_tokens)`` re-routes an ``auto`` request the
        balance cannot pay for) and what it holds. PaymentRequired (402) or SpendCapReached
        (429) when it cannot be held."""
        cap = settings.daily_spend_cap_usd
        if balance is None and cap is None:
            return route, Hold(charge_id)
        try:
            return route, await self._reserve(identity, route, cap, balance, charge_id)
        except PaymentRequired as refused:
            if route.mode != "auto" or route.name == "named":
                raise
            # The balance moves under concurrent requests: what it holds now is what counts.
            left = (await self._ledger.balance(identity.org_id) or 0) - route.prompt_tokens
            if left < MIN_ANSWER_TOKENS:
                raise
            cheap = cheaper(left)
            if cheap.max_tokens < MIN_ANSWER_TOKENS:
                raise refused from None
            return cheap, await self._reserve(identity, cheap, cap, balance, charge_id)

    async def settle(self, hold: Hold, usage: Usage, cost_usd: float) -> None:
        """Settle what the request held with what it used. Never raises: the answer has been
        given. A failure is logged with everything needed to reconcile by hand; the
        reservation stays held."""
        tokens = usage.input_tokens + usage.output_tokens
        try:
            if hold.reservation is not None:
                await self._ledger.settle(hold.reservation, tokens=tokens, cost_usd=cost_usd)
        except ParleyError as exc:
            logger.error(
                "Charge not settled",
                error=exc.code,
                charge_id=hold.charge_id,
                tokens=tokens,
                cost_usd=cost_usd,
            )

    async def _reserve(
        self,
        identity: Identity,
        route: Route,
        cap: float | None,
        balance: int | None,
        charge_id: str,
    ) -> Hold:
        primary = route.primary
        tokens = route.prompt_tokens + route.max_tokens  # the most the call can use
        reservation = await self._ledger.reserve(
            org_id=identity.org_id,
            user_id=identity.user_id,
            request_id=charge_id,
            tokens=tokens,
            cost_usd=primary.cost_usd(Usage(route.prompt_tokens, route.max_tokens)),
            daily_cap_usd=cap,
            metered=balance is not None,
        )
        return Hold(charge_id, reservation)
