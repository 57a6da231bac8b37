"""Hot state in DynamoDB (table ``HotTable``): shared by every environment, no extra service.

Item: ``pk`` the key, ``v`` a value or ``n`` a counter, ``exp`` the expiry in epoch
milliseconds (absent: never), ``ttl`` the same in whole seconds for DynamoDB's TTL deletion
(``parley.state.expiry``). TTL deletes expired items up to days late, so every read compares
``exp`` with the clock, and every conditional write treats an expired item as absent.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from botocore.exceptions import ClientError

from parley.errors import ServiceUnavailable
from parley.hot.base import HotStore, WindowCount
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors, error_code
from parley.state.expiry import expired, number, ttl_value

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoDBHotStore"]

_INCREMENT_ATTEMPTS = 5


class DynamoDBHotStore(HotStore):
    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client = client or dynamodb_client()
        self._clock = clock

    # boto3 blocks; each operation runs in a worker thread so the event loop keeps streaming.
    async def get(self, key: str) -> str | None:
        return await anyio.to_thread.run_sync(self._get, key)

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        await anyio.to_thread.run_sync(self._set, key, value, ttl_seconds)

    async def delete(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._delete, key)

    async def set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        return await anyio.to_thread.run_sync(self._set_if_absent, key, value, ttl_seconds)

    async def increment(self, key: str, window_seconds: float, amount: int = 1) -> WindowCount:
        return await anyio.to_thread.run_sync(self._increment, key, window_seconds, amount)

    def _get(self, key: str) -> str | None:
        with dynamodb_errors(self._table):
            item = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True
            ).get("Item")
        if item is None or self._expired(item):
            return None
        return item["v"]["S"] if "v" in item else item["n"]["N"]

    def _set(self, key: str, value: str, ttl_seconds: float | None) -> None:
        with dynamodb_errors(self._table):
            self._client.put_item(TableName=self._table, Item=self._item(key, value, ttl_seconds))

    def _delete(self, key: str) -> bool:
        with dynamodb_errors(self._table):
            old = self._client.delete_item(
                TableName=self._table, Key={"pk": {"S": key}}, ReturnValues="ALL_OLD"
            ).get("Attributes")
        return old is not None and not self._expired(old)

    def _set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        with dynamodb_errors(self._table):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=self._item(key, value, ttl_seconds),
                    ConditionExpression="attribute_not_exists(pk) OR exp <= :now",
                    ExpressionAttributeValues={":now": number(self._now_ms())},
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def _increment(self, key: str, window_seconds: float, amount: int) -> WindowCount:
        # Two conditional updates, each atomic: add to a live window, or start a new one over
        # an absent or expired item. Losing a race on either just means trying the other.
        for _ in range(_INCREMENT_ATTEMPTS):
            now_ms = self._now_ms()
            expires_ms = now_ms + math.ceil(window_seconds * 1000)
            attributes = self._update_if(
                key,
                update="ADD n :amount",
                condition="exp > :now",
                values={":amount": number(amount), ":now": number(now_ms)},
            ) or self._update_if(
                key,
                update="SET n = :amount, exp = :exp, #ttl = :ttl REMOVE v",
                condition="attribute_not_exists(pk) OR attribute_not_exists(exp) OR exp <= :now",
                values={
                    ":amount": number(amount),
                    ":exp": number(expires_ms),
                    ":ttl": number(ttl_value(expires_ms)),
                    ":now": number(now_ms),
                },
                names={"#ttl": "ttl"},
            )
            if attributes is not None:
                remaining_ms = max(0, int(attributes["exp"]["N"]) - now_ms)
                return WindowCount(
                    count=int(attributes["n"]["N"]), reset_after_seconds=remaining_ms / 1000
                )
        raise ServiceUnavailable("The hot-state counter is too contended; try again.")

    def _update_if(
        self,
        key: str,
        *,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """The item after a conditional update, or None when the condition did not hold."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": key}},
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        with dynamodb_errors(self._table):
            try:
                return dict(self._client.update_item(**request)["Attributes"])
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return None
                raise

    def _item(self, key: str, value: str, ttl_seconds: float | None) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": {"S": key}, "v": {"S": value}}
        if ttl_seconds is not None:
            expires_ms = self._now_ms() + math.ceil(ttl_seconds * 1000)
            item["exp"] = number(expires_ms)
            item["ttl"] = number(ttl_value(expires_ms))
        return item

    def _expired(self, item: dict[str, Any]) -> bool:
        return expired(item, self._now_ms())

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)
