"""Expiry of short-lived items, written in DynamoDB's attribute-value form.

An item that expires carries ``exp``, its expiry in epoch milliseconds, which reads compare
with the clock, and ``ttl``, the same moment in whole epoch seconds for DynamoDB's TTL
deletion. TTL deletes expired items up to days late, so ``exp`` is what decides: an item whose
``exp`` has passed reads as absent, whether or not TTL has removed it yet.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["expired", "number", "ttl_value"]


def number(value: int) -> dict[str, str]:
    return {"N": str(value)}


def ttl_value(expires_ms: int) -> int:
    """The ``ttl`` for an expiry in milliseconds: rounded up, so TTL never deletes early."""
    return math.ceil(expires_ms / 1000)


def expired(item: dict[str, Any], now_ms: int) -> bool:
    """Whether the item's ``exp`` has passed; an item without one never expires."""
    return "exp" in item and int(item["exp"]["N"]) <= now_ms
