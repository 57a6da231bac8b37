"""Token balances, reservations and daily spend caps, exact across Lambda environments
(table ``AccountsTable``; items in docs/data-model.md).

Why reserve, then settle: a call's real cost is known only when its stream ends, and many
environments spend from one balance at once. So each request first holds an estimate, with one
transaction that takes it off the org's balance (``balances``), adds it to the user's day
(``spend``) and opens the request's reservation (``reservations``): a balance or cap that
cannot cover it refuses the whole transaction. Afterwards another transaction settles with the
real usage, giving back or charging the difference while it flips the reservation to settled,
so a retried settle charges nothing twice and the balance never goes negative.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from parley.budget import balances, reservations, spend
from parley.budget.reservations import Reservation, Settlement
from parley.budget.spend import MICROS_PER_USD, SpendCapReached
from parley.errors import Conflict, PaymentRequired, ServiceUnavailable
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors
from parley.state.transactions import CONDITION_FAILED, back_off, transact_write

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["AsyncLedger", "Ledger"]

_DAY_SECONDS = 86_400
# The parts of a request that hold attribute values; the builders write them as plain values.
_VALUE_PARTS = ("Key", "Item", "ExpressionAttributeValues")


class Ledger:
    """The sync repository; ``AsyncLedger`` runs it off the event loop."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        *,
        reservation_ttl_days: float = 3,
        spend_retention_days: float = 40,
        attempts: int = 8,
    ) -> None:
        self._table = table_name
        self._client = client or dynamodb_client()
        self._clock = clock
        self._reservation_ttl_seconds = reservation_ttl_days * _DAY_SECONDS
        self._spend_retention_days = spend_retention_days
        self._attempts = attempts

    # Reads -------------------------------------------------------------------------------

    def balance(self, org_id: str) -> int | None:
        """The org's token balance; None when it has none (the org is unmetered)."""
        item = self._get(balances.balance_key(org_id))
        return None if item is None else int(item.get("tokens", 0))

    def spent_today(self, org_id: str, user_id: str) -> float:
        """The user's settled spend on the current UTC day, in USD (running calls excluded)."""
        item = self._get(spend.spend_key(org_id, user_id, spend.utc_day(self._clock())))
        return 0.0 if item is None else int(item.get("spent_micros", 0)) / MICROS_PER_USD

    def reservation(self, org_id: str, request_id: str) -> Reservation | None:
        item = self._live_reservation(org_id, request_id)
        return None if item is None else reservations.reservation_from_item(item)

    # Writes ------------------------------------------------------------------------------

    def grant(self, org_id: str, tokens: int) -> int:
        """Add tokens to the org's balance, creating it (which meters the org); the new
        balance."""
        if tokens < 0:
            raise ValueError("A grant adds tokens; it cannot be negative.")
        with dynamodb_errors(self._table):
            response = self._client.update_item(
                **_wire(balances.grant_request(self._table, org_id, tokens))
            )
        return int(_plain(dict(response["Attributes"]))["tokens"])

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
        SpendCapReached when the day's cap cannot. A request id that already has a
        reservation gets it back unchanged: nothing is held twice."""
        if tokens < 0 or cost_usd < 0:
            raise ValueError("A reservation cannot be negative.")
        now = self._clock()
        held = Reservation(
            request_id=request_id,
            org_id=org_id,
            user_id=user_id,
            tokens=tokens,
            cost_micros=spend.micros(cost_usd),
            day=spend.utc_day(now),
            metered=metered,
        )
        cap_micros = None if daily_cap_usd is None else spend.micros(daily_cap_usd)
        if daily_cap_usd is not None and held.cost_micros > spend.micros(daily_cap_usd):
            raise SpendCapReached.until_midnight(now, daily_cap_usd)  # more than a whole day

        # Cancellation reasons come back in this order: reservation, [balance], spend.
        items = [
            reservations.open_reservation(
                self._table,
                held,
                now=now,
                expires_at=math.ceil(now + self._reservation_ttl_seconds),
            )
        ]
        if metered:
            items.append(balances.take(self._table, org_id, tokens))
        items.append(
            spend.hold_spend(
                self._table,
                spend.spend_key(org_id, user_id, held.day),
                cost_micros=held.cost_micros,
                cap_micros=cap_micros,
                expires_at=spend.spend_expiry(now, self._spend_retention_days),
            )
        )

        for attempt in range(self._attempts):
            reasons = self._transact(items)
            if reasons is None:
                return held
            if reasons[0] == CONDITION_FAILED:
                existing = self.reservation(org_id, request_id)
                if existing is not None:
                    return existing
                continue  # it has expired meanwhile, so the put may now replace it
            if metered and reasons[1] == CONDITION_FAILED:
                raise self._payment_required(org_id, tokens)
            if daily_cap_usd is not None and reasons[-1] == CONDITION_FAILED:
                raise SpendCapReached.until_midnight(now, daily_cap_usd)
            back_off(attempt)
        raise ServiceUnavailable("The balance is too contended; try again shortly.")

    def settle(self, held: Reservation, *, tokens: int, cost_usd: float) -> Settlement:
        """Replace the estimate with the call's real ``tokens`` and ``cost_usd``: give back
        what was held and not used, charge what was used beyond it. ``tokens=0`` releases the
        reservation (the call failed and produced nothing). A balance that cannot pay an
        overage pays what it has, ending at 0, and the rest is written off on the reservation.
        Settling a settled reservation changes nothing and returns the first settlement."""
        if tokens < 0 or cost_usd < 0:
            raise ValueError("Usage cannot be negative.")
        cost_micros = spend.micros(cost_usd)
        extra = max(0, tokens - held.tokens) if held.metered else 0
        affordable = extra  # how much of the extra the balance is asked to pay this attempt

        for attempt in range(self._attempts):
            settlement = reservations.settlement_for(held, tokens, written_off=extra - affordable)
            items = [
                reservations.close_reservation(
                    self._table,
                    held,
                    tokens=tokens,
                    cost_micros=cost_micros,
                    settlement=settlement,
                    now=self._clock(),
                )
            ]
            balance_change = self._balance_change(held, tokens, extra, affordable)
            if balance_change is not None:
                items.append(balance_change)
            items.append(
                spend.settle_spend(
                    self._table,
                    spend.spend_key(held.org_id, held.user_id, held.day),
                    held_micros=held.cost_micros,
                    cost_micros=cost_micros,
                )
            )

            reasons = self._transact(items)
            if reasons is None:
                return settlement
            if reasons[0] == CONDITION_FAILED:
                return self._settled_before(held)
            if balance_change is not None and reasons[1] == CONDITION_FAILED:
                # The balance cannot pay all the extra, or changed since it was read: pay
                # what it holds now, exactly.
                balance = self.balance(held.org_id)
                if balance is None:  # the balance was removed: the org is unmetered now
                    held = replace(held, metered=False)
                    extra = affordable = 0
                else:
                    affordable = min(extra, balance)
                continue
            back_off(attempt)
        raise ServiceUnavailable("The balance is too contended; try again shortly.")

    # Helpers -----------------------------------------------------------------------------

    def _balance_change(
        self, held: Reservation, tokens: int, extra: int, affordable: int
    ) -> dict[str, Any] | None:
        if not held.metered:
            return None
        if tokens < held.tokens:
            return balances.give_back(self._table, held.org_id, held.tokens - tokens)
        if not extra:
            return None
        if affordable == extra:
            return balances.take(self._table, held.org_id, extra)
        return balances.take_exactly(self._table, held.org_id, affordable)

    def _transact(self, items: Sequence[dict[str, Any]]) -> list[str | None] | None:
        """None when the transaction committed, else each item's cancellation reason (None
        for the items that did not cause it)."""
        wired = [{kind: _wire(write) for kind, write in item.items()} for item in items]
        cancelled = transact_write(self._client, self._table, wired)
        return None if cancelled is None else [reason.code for reason in cancelled]

    def _settled_before(self, held: Reservation) -> Settlement:
        item = self._live_reservation(held.org_id, held.request_id)
        if item is None or item.get("state") != "settled":
            raise Conflict(f"Request {held.request_id} has no reservation to settle.")
        return reservations.settlement_from_item(item)

    def _live_reservation(self, org_id: str, request_id: str) -> dict[str, Any] | None:
        item = self._get(reservations.reservation_key(org_id, request_id))
        if item is None or int(item.get("ttl", math.inf)) <= math.floor(self._clock()):
            return None  # TTL deletes late: an expired reservation reads as absent
        return item

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        request = _wire({"TableName": self._table, "Key": key, "ConsistentRead": True})
        with dynamodb_errors(self._table):
            item = self._client.get_item(**request).get("Item")
        return None if item is None else _plain(dict(item))

    def _payment_required(self, org_id: str, tokens: int) -> PaymentRequired:
        balance = self.balance(org_id) or 0
        return PaymentRequired(
            f"The organisation's balance ({balance} tokens) is too low for this request "
            f"(about {tokens} tokens).",
            details={"balance_tokens": balance, "required_tokens": tokens},
        )


class AsyncLedger:
    """The ledger for async code: boto3 blocks, so each call runs in a worker thread. A call
    already started finishes even if the awaiting task is cancelled (anyio waits for it)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def balance(self, org_id: str) -> int | None:
        return await anyio.to_thread.run_sync(self._ledger.balance, org_id)

    async def grant(self, org_id: str, tokens: int) -> int:
        return await anyio.to_thread.run_sync(self._ledger.grant, org_id, tokens)

    async def spent_today(self, org_id: str, user_id: str) -> float:
        return await anyio.to_thread.run_sync(self._ledger.spent_today, org_id, user_id)

    async def reservation(self, org_id: str, request_id: str) -> Reservation | None:
        return await anyio.to_thread.run_sync(self._ledger.reservation, org_id, request_id)

    async def reserve(
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
        reserve = partial(
            self._ledger.reserve,
            org_id=org_id,
            user_id=user_id,
            request_id=request_id,
            tokens=tokens,
            cost_usd=cost_usd,
            daily_cap_usd=daily_cap_usd,
            metered=metered,
        )
        return await anyio.to_thread.run_sync(reserve)

    async def settle(self, held: Reservation, *, tokens: int, cost_usd: float) -> Settlement:
        settle = partial(self._ledger.settle, held, tokens=tokens, cost_usd=cost_usd)
        return await anyio.to_thread.run_sync(settle)


def _wire(request: dict[str, Any]) -> dict[str, Any]:
    """A request with plain values turned into DynamoDB attribute values. boto3's serializer
    loads here, on first use, so that importing the budget stays light."""
    from parley.state.items import to_item

    return {part: to_item(v) if part in _VALUE_PARTS else v for part, v in request.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from parley.state.items import from_item

    return from_item(item)
