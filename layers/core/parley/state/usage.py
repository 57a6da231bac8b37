"""Per-call usage events (table ``UsageTable``): one record per provider call, written once.

Keys (docs/data-model.md):
    pk=ORG#<org>#DAY#<yyyy-mm-dd>   sk=<created_at>#<request id>#<attempt>
    gsi1pk=USER#<org>#<user>        gsi1sk=<created_at>#<request id>#<attempt>
Events expire after the retention period (TTL on ``expires_at``); reads skip expired ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from parley.clock import iso_from_epoch
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors, error_code
from parley.state.items import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["UsageEvent", "UsageRepository"]

Endpoint = Literal["stream", "completions"]


@dataclass(frozen=True)
class UsageEvent:
    request_id: str
    org_id: str
    user_id: str
    provider: str
    model: str
    endpoint: Endpoint
    input_tokens: int
    output_tokens: int
    usage_estimated: bool
    cost_usd: float
    latency_ms: float
    success: bool
    ttft_ms: float | None = None
    error_code: str | None = None
    finish_reason: str | None = None
    task_type: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    attempt: int = 0  # 0 for the request's first provider call, then each retry or failover
    failover: bool = False  # this call was made because an earlier one failed
    cached: bool = False  # answered from the response cache: no provider call, no tokens
    route: str | None = None  # light, standard, heavy, long_context, cheap, smart or named
    tier: str | None = None
    mode: str | None = None
    complexity: float | None = None
    route_reason: str | None = None
    created_at: float = 0.0  # epoch seconds; 0 means "now" when recorded


class UsageRepository:
    def __init__(
        self,
        table_name: str,
        *,
        retention_days: int = 90,
        client: DynamoDBClient | None = None,
    ) -> None:
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._client = client or dynamodb_client()

    def record(self, event: UsageEvent) -> bool:
        """Store the event; False (and nothing written) when it was already recorded."""
        created = event.created_at or time.time()
        stamp = iso_from_epoch(created)
        order = f"{stamp}#{event.request_id}#{event.attempt}"
        values = {k: v for k, v in asdict(event).items() if v is not None}
        item = {
            **values,
            "created_at": created,
            "pk": _day_key(event.org_id, stamp),
            "sk": order,
            "gsi1pk": f"USER#{event.org_id}#{event.user_id}",
            "gsi1sk": order,
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
        now = int(time.time())
        events: list[UsageEvent] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeValues": to_item({":pk": f"ORG#{org_id}#DAY#{day}", ":now": now}),
        }
        with dynamodb_errors(self._table):
            for page in self._client.get_paginator("query").paginate(**query):
                events += [_event(from_item(item)) for item in page.get("Items", [])]
        return events


def _day_key(org_id: str, stamp: str) -> str:
    return f"ORG#{org_id}#DAY#{stamp[:10]}"


_FIELDS = set(UsageEvent.__dataclass_fields__)


def _event(item: dict[str, Any]) -> UsageEvent:
    return UsageEvent(**{k: v for k, v in item.items() if k in _FIELDS})
