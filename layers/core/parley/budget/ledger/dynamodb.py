"""The ledger in DynamoDB (table ``AccountsTable``; items in docs/data-model.md), exact across
Lambda environments: each hold and each settlement is one transaction built from the writes of
``balances``, ``spend`` and ``reservations``, whose conditions refuse what the balance, the cap
or the reservation's state does not allow.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from parley.budget import balances, reservations, spend
from parley.budget.ledger.base import (
    LedgerStore,
    check_grant,
    check_usage,
    new_hold,
    payment_required,
)
from parley.budget.spend import MICROS_PER_USD, SpendCapReached
from parley.errors import Conflict, ServiceUnavailable
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors
from parley.state.transactions import CONDITION_FAILED, back_off, transact_write

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.budget.reservations import Reservation, Settlement
    from parley.errors import PaymentRequired

__all__ = ["Ledger"]

_DAY_SECONDS = 86_400
# The parts of a request that hold attribute values; the builders write them as plain values.
_VALUE_PARTS = ("Key", "Item", "ExpressionAttributeValues")


class Ledger(LedgerStore):
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
        item = self._get(balances.balance_key(org_id))
        return None if item is None else int(item.get("tokens", 0))

    def spent_today(self, org_id: str, user_id: str) -> float:
        item = self._get(spend.spend_key(org_id, user_id, spend.utc_day(self._clock())))
        return 0.0 if item is None else int(item.get("spent_micros", 0)) / MICROS_PER_USD

    def reservation(self, org_id: str, request_id: str) -> Reservation | None:
        item = self._live_reservation(org_id, request_id)
        return None if item is None else reservations.reservation_from_item(item)

    # Writes ------------------------------------------------------------------------------

    def grant(self, org_id: str, tokens: int) -> int:
        check_grant(tokens)
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
        check_usage(tokens, cost_usd)
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
        return payment_required(self.balance(org_id), tokens)


def _wire(request: dict[str, Any]) -> dict[str, Any]:
    """A request with plain values turned into DynamoDB attribute values. boto3's serializer
    loads here, on first use, so that importing the budget stays light."""
    from parley.state.items import to_item

    return {part: to_item(v) if part in _VALUE_PARTS else v for part, v in request.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from parley.state.items import from_item

    return from_item(item)
