"""Per-call usage events in DynamoDB (table ``UsageTable``): one record per provider call,
written once.

Keys (docs/data-model.md):
    pk=ORG#<org>#DAY#<yyyy-mm-dd>   sk=<created_at>#<request id>#<attempt>
    gsi1pk=USER#<org>#<user>        gsi1sk=<created_at>#<request id>#<attempt>
Events expire after the retention period (TTL on ``expires_at``); reads skip expired ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from parley.clock import iso_from_epoch
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors, error_code
from parley.state.hour_index import hour_index_keys, hour_query
from parley.state.items import from_item, to_item
from parley.state.paging import query_all
from parley.state.usage.base import UsageEvent, UsageStore, event_order, usage_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["UsageRepository"]


class UsageRepository(UsageStore):
    def __init__(
        self,
        table_name: str,
        *,
        retention_days: int = 90,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._client = client or dynamodb_client()
        self._clock = clock

    def record(self, event: UsageEvent) -> bool:
        """Store the event; False (and nothing written) when it was already recorded."""
        created = event.created_at or self._clock()
        stamp = iso_from_epoch(created)
        order = event_order(stamp, event)
        values = {k: v for k, v in asdict(event).items() if v is not None}
        item = {
            **values,
            "created_at": created,
            "pk": _day_key(event.org_id, stamp),
            "sk": order,
            "gsi1pk": f"USER#{event.org_id}#{event.user_id}",
            "gsi1sk": order,
            **hour_index_keys(event.org_id, stamp, order),
            "expires_at": int(created + self._retention_seconds),
        }
        with dynamodb_errors(self._table):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def for_org_day(self, org_id: str, day: str) -> list[UsageEvent]:
        """Every live event of one org on one UTC day (``yyyy-mm-dd``), oldest first."""
        now = int(self._clock())
        events: list[UsageEvent] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeValues": to_item({":pk": f"ORG#{org_id}#DAY#{day}", ":now": now}),
        }
        with dynamodb_errors(self._table):
            for page in self._client.get_paginator("query").paginate(**query):
                events += [usage_event(from_item(item)) for item in page.get("Items", [])]
        return events

    def for_hour(
        self, hour: str, shard: int, *, after_org: str | None = None
    ) -> Iterator[UsageEvent]:
        query = hour_query(
            self._table, hour, shard, after_org=after_org, live_at=int(self._clock())
        )
        return (usage_event(item) for item in query_all(self._client, query))


def _day_key(org_id: str, stamp: str) -> str:
    return f"ORG#{org_id}#DAY#{stamp[:10]}"
