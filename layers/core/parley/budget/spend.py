"""A user's spend per UTC day, and the cap on it (item ``pk=USER#<org>#<user>``,
``sk=SPEND#<yyyy-mm-dd>`` in ``AccountsTable``).

Money is kept in integer micro-USD: DynamoDB adds integers exactly, and a day of small float
costs added one by one would drift. The item holds what settled calls cost (``spent_micros``),
what running calls hold (``reserved_micros``) and their sum (``committed_micros``), because a
condition expression cannot add two attributes and the cap must bound the sum. Days are UTC,
so every environment agrees when one ends.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from parley.errors import RateLimited

__all__ = [
    "MICROS_PER_USD",
    "SpendCapReached",
    "hold_spend",
    "micros",
    "seconds_to_next_utc_day",
    "settle_spend",
    "spend_expiry",
    "spend_key",
    "utc_day",
]

MICROS_PER_USD = 1_000_000
_DAY_SECONDS = 86_400


class SpendCapReached(RateLimited):
    """The user's daily spend cap is used up; it resets at the next UTC midnight."""

    code = "spend_cap_reached"
    default_message = "The daily spend limit is reached."

    @classmethod
    def until_midnight(cls, now: float, cap_usd: float) -> SpendCapReached:
        return cls(
            f"The daily spend limit (${cap_usd:.2f}) is reached; it resets at midnight UTC.",
            retry_after=seconds_to_next_utc_day(now),
        )


def micros(usd: float) -> int:
    # Through the float's shortest decimal text, so 0.0003 is 300 micros, not 299.
    return round(Decimal(repr(usd)) * MICROS_PER_USD)


def utc_day(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%d")


def seconds_to_next_utc_day(epoch_seconds: float) -> float:
    return _day_start(epoch_seconds) + _DAY_SECONDS - epoch_seconds


def spend_expiry(epoch_seconds: float, retention_days: float) -> int:
    """The TTL of the day's item: its retention counted from the end of that day."""
    return math.ceil(_day_start(epoch_seconds) + _DAY_SECONDS + retention_days * _DAY_SECONDS)


def spend_key(org_id: str, user_id: str, day: str) -> dict[str, str]:
    return {"pk": f"USER#{org_id}#{user_id}", "sk": f"SPEND#{day}"}


def hold_spend(
    table: str, key: dict[str, str], *, cost_micros: int, cap_micros: int | None, expires_at: int
) -> dict[str, Any]:
    """Add a running call's estimate to the day; with a cap, only if the day stays within it."""
    values: dict[str, Any] = {":cost": cost_micros, ":type": "spend", ":ttl": expires_at}
    update: dict[str, Any] = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": (
            "ADD reserved_micros :cost, committed_micros :cost "
            "SET #type = :type, #ttl = if_not_exists(#ttl, :ttl)"
        ),
        "ExpressionAttributeNames": {"#type": "type", "#ttl": "ttl"},
    }
    if cap_micros is not None:
        values[":room"] = cap_micros - cost_micros
        update["ConditionExpression"] = (
            "attribute_not_exists(committed_micros) OR committed_micros <= :room"
        )
    update["ExpressionAttributeValues"] = values
    return {"Update": update}


def settle_spend(
    table: str, key: dict[str, str], *, held_micros: int, cost_micros: int
) -> dict[str, Any]:
    """Replace the estimate with the real cost. No condition: the call has happened, so the
    day may pass its cap by this call's overage; the cap then stops the next one."""
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": (
                "ADD reserved_micros :release, spent_micros :cost, committed_micros :change"
            ),
            "ExpressionAttributeValues": {
                ":release": -held_micros,
                ":cost": cost_micros,
                ":change": cost_micros - held_micros,
            },
        }
    }


def _day_start(epoch_seconds: float) -> float:
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
