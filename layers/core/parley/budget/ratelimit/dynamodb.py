"""Rate limits in DynamoDB (table ``HotTable``), exact however many environments race.

One item per rule and window (items in docs/data-model.md): ``pk`` is
``<prefix>:<rule key>:<window index>``, ``n`` the requests admitted in that window, ``exp`` /
``ttl`` its expiry. Each request reads, in one consistent ``BatchGetItem``, every rule's
current and previous window, and refuses at once when a rule has no room (a refusal costs
reads only, never a write). Otherwise it adds one to every rule's current window with the
condition ``attribute_not_exists(pk) OR n < :cap``, where ``cap`` is the limit less the
previous window's weighted count: one ``UpdateItem`` for one rule, one ``TransactWriteItems``
for several, so a rule that has filled meanwhile cancels the whole write and nothing is
counted for any rule. A failed condition is a refusal (the item as it was, returned with the
failure, gives the wait); a transaction conflict is retried with jittered backoff.

Why it is exact: DynamoDB applies each conditional write atomically, so a window's count can
pass its cap for no one, and a request is refused only when the count it saw, or the write it
lost, left it no room. (Like the Upstash script, each request weighs the previous window at
the moment it was read; a write still landing in a window that has just closed is counted
there, not re-weighed.)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from botocore.exceptions import ClientError

from parley.budget.ratelimit.base import RateLimiter
from parley.budget.ratelimit.sliding import (
    Counts,
    admitted,
    cap,
    decide,
    epoch_ms,
    refused,
    slots,
)
from parley.errors import ServiceUnavailable
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors, error_code
from parley.state.expiry import expired, number, ttl_value
from parley.state.transactions import CONDITION_FAILED, back_off, transact_write

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.budget.ratelimit.base import LimitDecision, RateLimit
    from parley.budget.ratelimit.sliding import Slot

__all__ = ["DynamoDBRateLimiter"]


class DynamoDBRateLimiter(RateLimiter):
    """``clock`` is epoch seconds, injectable for tests; ``attempts`` bounds the retries of
    writes that lost a transaction conflict (then ``ServiceUnavailable``, which ``acquire``
    turns into an allowed request with a warning)."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        prefix: str = "ratelimit",
        attempts: int = 8,
    ) -> None:
        self._table = table_name
        self._client = client or dynamodb_client()
        self._clock = clock
        self._prefix = prefix
        self._attempts = attempts

    async def _acquire(self, rules: Sequence[RateLimit]) -> LimitDecision:
        # boto3 blocks: the calls run in a worker thread so the event loop keeps streaming.
        return await anyio.to_thread.run_sync(self._acquire_now, rules)

    def _acquire_now(self, rules: Sequence[RateLimit]) -> LimitDecision:
        for attempt in range(self._attempts):
            now_ms = epoch_ms(self._clock())
            found = slots(rules, self._prefix, now_ms)
            counts = self._read(found, now_ms)
            decision = decide(found, counts)
            if not decision.allowed:
                return decision
            pairs = zip(found, counts, strict=True)
            caps = [cap(slot.rule.limit, count.previous, slot.position) for slot, count in pairs]
            if len(found) == 1:
                outcome = self._count_one(found[0], counts[0], caps[0])
            else:
                outcome = self._count_all(found, counts, caps)
            if outcome is not None:
                return outcome
            back_off(attempt)  # another writer held an item: read again, then retry
        raise ServiceUnavailable("The rate limit is too contended; try again shortly.")

    def _read(self, found: Sequence[Slot], now_ms: int) -> list[Counts]:
        items = self._get_many([key for s in found for key in (s.key, s.previous_key)])

        def count(key: str) -> int:
            item = items.get(key)
            # TTL deletes late: an item past its `exp` counts as absent.
            return 0 if item is None or expired(item, now_ms) else int(item["n"]["N"])

        return [Counts(count(s.key), count(s.previous_key)) for s in found]

    def _get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{"pk": {"S": key}} for key in keys],
                "ConsistentRead": True,
                "ProjectionExpression": "pk, n, exp",
            }
        }
        found: dict[str, dict[str, Any]] = {}
        for attempt in range(self._attempts):
            with dynamodb_errors(self._table):
                response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                found[item["pk"]["S"]] = dict(item)
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return found
            back_off(attempt)  # DynamoDB left keys unread under load: ask for those again
        raise ServiceUnavailable("The database is busy; try again shortly.")

    def _count_one(self, slot: Slot, counts: Counts, limit_cap: int) -> LimitDecision | None:
        """One rule: a conditional UpdateItem (half a transaction's cost). None: retry."""
        with dynamodb_errors(self._table):
            try:
                response = self._client.update_item(
                    **self._increment(slot, limit_cap), ReturnValues="UPDATED_NEW"
                )
            except ClientError as exc:
                code = error_code(exc)
                if code == "ConditionalCheckFailedException":
                    old = exc.response.get("Item")
                    return self._refused(
                        slot, counts, limit_cap, old if isinstance(old, dict) else None
                    )
                if code == "TransactionConflictException":  # a transaction holds the item
                    return None
                raise
        count = int(response["Attributes"]["n"]["N"])
        return admitted([slot.rule], [limit_cap - count])

    def _count_all(
        self, found: Sequence[Slot], counts: Sequence[Counts], caps: Sequence[int]
    ) -> LimitDecision | None:
        """Several rules: one transaction, so either every rule counts the request or none
        does. None: a conflict cancelled it; retry."""
        items = [{"Update": self._increment(s, c)} for s, c in zip(found, caps, strict=True)]
        cancelled = transact_write(self._client, self._table, items)
        if cancelled is None:
            # What each had left when read: others may have taken some since.
            left = [c - (n.current + 1) for c, n in zip(caps, counts, strict=True)]
            return admitted([slot.rule for slot in found], left)
        for slot, count, limit_cap, reason in zip(found, counts, caps, cancelled, strict=True):
            if reason.code == CONDITION_FAILED:
                return self._refused(slot, count, limit_cap, reason.item)
        return None

    def _increment(self, slot: Slot, limit_cap: int) -> dict[str, Any]:
        expires_ms = slot.position.expires_ms
        return {
            "TableName": self._table,
            "Key": {"pk": {"S": slot.key}},
            "UpdateExpression": "ADD n :one SET exp = :exp, #ttl = :ttl",
            # The window's item is new, or its count is still below the cap. Its key holds
            # the window index, so it is never reused once it has expired.
            "ConditionExpression": "attribute_not_exists(pk) OR n < :cap",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":one": number(1),
                ":cap": number(limit_cap),
                ":exp": number(expires_ms),
                ":ttl": number(ttl_value(expires_ms)),
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _refused(
        self, slot: Slot, counts: Counts, limit_cap: int, old: dict[str, Any] | None
    ) -> LimitDecision:
        # The condition failed, so the count had reached the cap; the old item says by how much.
        current = int(old["n"]["N"]) if old and "n" in old else max(limit_cap, counts.current)
        return refused(slot.rule, Counts(current, counts.previous), slot.position)
