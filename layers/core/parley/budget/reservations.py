"""One request's hold on the budget (item ``pk=ORG#<org>``, ``sk=RES#<request id>`` in
``AccountsTable``), and what settling it did.

The item is the request's idempotency record for money: it is created once per request id
(a retried reserve finds it and holds nothing more) and flips from ``reserved`` to ``settled``
once (a retried settle finds it settled and charges nothing more). It expires by TTL a few days
later; reads treat an expired one as absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from parley.budget.spend import MICROS_PER_USD

__all__ = [
    "Reservation",
    "ReservationState",
    "Settlement",
    "close_reservation",
    "open_reservation",
    "reservation_from_item",
    "reservation_key",
    "settlement_for",
    "settlement_from_item",
]

ReservationState = Literal["reserved", "settled"]


@dataclass(frozen=True)
class Reservation:
    """What was held for one request: ``tokens`` off the org's balance (when ``metered``) and
    ``cost_micros`` on the user's spend for ``day`` (UTC, ``yyyy-mm-dd``)."""

    request_id: str
    org_id: str
    user_id: str
    tokens: int
    cost_micros: int
    day: str
    metered: bool
    state: ReservationState = "reserved"

    @property
    def cost_usd(self) -> float:
        return self.cost_micros / MICROS_PER_USD


@dataclass(frozen=True)
class Settlement:
    """How the org's balance moved when a reservation settled. ``charged_tokens`` is what the
    request cost the balance in the end (its real tokens minus any written off); refunded
    tokens went back; written-off tokens were used but the balance could not pay them. For an
    unmetered org nothing moves and all three are 0."""

    charged_tokens: int
    refunded_tokens: int
    written_off_tokens: int


def settlement_for(reservation: Reservation, tokens: int, *, written_off: int) -> Settlement:
    if not reservation.metered:
        return Settlement(charged_tokens=0, refunded_tokens=0, written_off_tokens=0)
    return Settlement(
        charged_tokens=tokens - written_off,
        refunded_tokens=max(0, reservation.tokens - tokens),
        written_off_tokens=written_off,
    )


def reservation_key(org_id: str, request_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": f"RES#{request_id}"}


def open_reservation(
    table: str, reservation: Reservation, *, now: float, expires_at: int
) -> dict[str, Any]:
    """Create the reservation unless the request id has a live one."""
    item = {
        "pk": f"ORG#{reservation.org_id}",
        "sk": f"RES#{reservation.request_id}",
        "type": "reservation",
        "request_id": reservation.request_id,
        "org_id": reservation.org_id,
        "user_id": reservation.user_id,
        "tokens": reservation.tokens,
        "cost_micros": reservation.cost_micros,
        "day": reservation.day,
        "metered": reservation.metered,
        "state": "reserved",
        "created_at": now,
        "ttl": expires_at,
    }
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            # TTL deletes late: an expired reservation counts as absent.
            "ConditionExpression": "attribute_not_exists(sk) OR #ttl <= :now",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {":now": math.floor(now)},
        }
    }


def close_reservation(
    table: str,
    reservation: Reservation,
    *,
    tokens: int,
    cost_micros: int,
    settlement: Settlement,
    now: float,
) -> dict[str, Any]:
    """Flip the reservation to settled and record what it cost, only if it is still open."""
    return {
        "Update": {
            "TableName": table,
            "Key": reservation_key(reservation.org_id, reservation.request_id),
            "UpdateExpression": (
                "SET #state = :settled, used_tokens = :used, used_cost_micros = :cost, "
                "charged_tokens = :charged, refunded_tokens = :refunded, "
                "written_off_tokens = :written_off, settled_at = :now"
            ),
            "ConditionExpression": "#state = :reserved",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {
                ":settled": "settled",
                ":reserved": "reserved",
                ":used": tokens,
                ":cost": cost_micros,
                ":charged": settlement.charged_tokens,
                ":refunded": settlement.refunded_tokens,
                ":written_off": settlement.written_off_tokens,
                ":now": now,
            },
        }
    }


def reservation_from_item(item: dict[str, Any]) -> Reservation:
    return Reservation(
        request_id=item["request_id"],
        org_id=item["org_id"],
        user_id=item["user_id"],
        tokens=int(item["tokens"]),
        cost_micros=int(item["cost_micros"]),
        day=item["day"],
        metered=bool(item["metered"]),
        state=item["state"],
    )


def settlement_from_item(item: dict[str, Any]) -> Settlement:
    return Settlement(
        charged_tokens=int(item.get("charged_tokens", 0)),
        refunded_tokens=int(item.get("refunded_tokens", 0)),
        written_off_tokens=int(item.get("written_off_tokens", 0)),
    )
