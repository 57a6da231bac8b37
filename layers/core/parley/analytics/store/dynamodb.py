"""Rollups in DynamoDB (table ``AnalyticsTable``; docs/data-model.md).

    hour series    pk=ORG#<org>#HOURS#<yyyy-mm-dd>  sk=<HH>#S#<series key>
    hour activity  pk=ORG#<org>#HOURS#<yyyy-mm-dd>  sk=<HH>#U#<chunk>
    day series     pk=ORG#<org>#DAYS#<yyyy-mm>      sk=<yyyy-mm-dd>#S#<series key>
    day activity   pk=ORG#<org>#DAYS#<yyyy-mm>      sk=<yyyy-mm-dd>#U#<chunk>
    advice         pk=ORG#<org>#ADVICE              sk=CURRENT

A day's hours are one partition and a month's days another, so thirty days are read with one
or two Queries whatever the traffic. Items expire (TTL on ``expires_at``) 400 days after their
span; reads skip expired ones.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from parley.analytics.activity import Activity
from parley.analytics.rollup import SKETCHES, SeriesRollup
from parley.analytics.store.base import ROLLUP_RETENTION_DAYS, RollupStore, SpanRollups
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors
from parley.state.items import from_item, to_item
from parley.state.paging import query_all
from parley.state.transactions import back_off

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["RollupRepository"]

_BATCH = 25  # BatchWriteItem's limit
_WRITE_ATTEMPTS = 8


class RollupRepository(RollupStore):
    def __init__(
        self,
        table_name: str,
        *,
        retention_days: int = ROLLUP_RETENTION_DAYS,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._retention = timedelta(days=retention_days)
        self._client = client or dynamodb_client()
        self._clock = clock

    def put_hour(
        self, org_id: str, hour: str, rollups: Sequence[SeriesRollup], activity: Activity
    ) -> None:
        day, hh = hour[:10], hour[11:13]
        end = datetime.fromisoformat(f"{hour}:00").replace(tzinfo=UTC) + timedelta(hours=1)
        self._put_span(f"ORG#{org_id}#HOURS#{day}", hh, end, rollups, activity)

    def put_day(
        self, org_id: str, day: str, rollups: Sequence[SeriesRollup], activity: Activity
    ) -> None:
        end = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1)
        self._put_span(f"ORG#{org_id}#DAYS#{day[:7]}", day, end, rollups, activity)

    def hours(self, org_id: str, day: str) -> list[SpanRollups]:
        items = self._query(f"ORG#{org_id}#HOURS#{day}", None)
        return [
            SpanRollups(f"{day}T{span}", rollups, activity)
            for span, (rollups, activity) in _spans(items).items()
        ]

    def days(
        self, org_id: str, first: str, last: str, *, sketches: Collection[str] = SKETCHES
    ) -> list[SpanRollups]:
        found: list[SpanRollups] = []
        for month in _months(first, last):
            items = self._query(f"ORG#{org_id}#DAYS#{month}", (f"{first}#", f"{last}#~"))
            found += [
                SpanRollups(span, rollups, activity)
                for span, (rollups, activity) in _spans(items, sketches).items()
            ]
        return found

    def put_advice(self, org_id: str, advice: dict[str, Any]) -> None:
        with dynamodb_errors(self._table):
            self._client.put_item(
                TableName=self._table,
                Item=to_item({"pk": f"ORG#{org_id}#ADVICE", "sk": "CURRENT", "advice": advice}),
            )

    def advice(self, org_id: str) -> dict[str, Any] | None:
        with dynamodb_errors(self._table):
            found = self._client.get_item(
                TableName=self._table,
                Key=to_item({"pk": f"ORG#{org_id}#ADVICE", "sk": "CURRENT"}),
            ).get("Item")
        return from_item(found)["advice"] if found else None

    def _put_span(
        self,
        pk: str,
        prefix: str,
        end: datetime,
        rollups: Sequence[SeriesRollup],
        activity: Activity,
    ) -> None:
        expires_at = int((end + self._retention).timestamp())
        items = [
            {**rollup.to_values(), "pk": pk, "sk": f"{prefix}#S#{rollup.series.key()}"}
            for rollup in rollups
        ]
        items += [
            {**chunk, "pk": pk, "sk": f"{prefix}#U#{index:04d}"}
            for index, chunk in enumerate(activity.chunks())
        ]
        self._batch_put({**item, "expires_at": expires_at} for item in items)

    def _batch_put(self, items: Iterable[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        for item in items:
            batch.append({"PutRequest": {"Item": to_item(item)}})
            if len(batch) == _BATCH:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)

    def _write(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(_WRITE_ATTEMPTS):
            with dynamodb_errors(self._table):
                left = self._client.batch_write_item(
                    RequestItems={self._table: requests}  # type: ignore[dict-item]
                ).get("UnprocessedItems", {})
            requests = list(left.get(self._table, []))  # type: ignore[arg-type]
            if not requests:
                return
            back_off(attempt)
        from parley.errors import ServiceUnavailable

        raise ServiceUnavailable("The analytics table is throttling writes; the job will retry.")

    def _query(self, pk: str, between: tuple[str, str] | None) -> list[dict[str, Any]]:
        condition = "pk = :pk" + (" AND sk BETWEEN :first AND :last" if between else "")
        values: dict[str, Any] = {":pk": pk, ":now": int(self._clock())}
        if between:
            values |= {":first": between[0], ":last": between[1]}
        query = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeValues": to_item(values),
        }
        return list(query_all(self._client, query))


def _spans(
    items: Iterable[dict[str, Any]], sketches: Collection[str] = SKETCHES
) -> dict[str, tuple[list[SeriesRollup], Activity]]:
    """Items of one partition, sorted by key, grouped by the span their sort key starts with."""
    spans: dict[str, tuple[list[SeriesRollup], list[dict[str, Any]]]] = {}
    for item in items:
        span, kind, _ = item["sk"].split("#", 2)
        rollups, chunks = spans.setdefault(span, ([], []))
        if kind == "S":
            rollups.append(SeriesRollup.from_values(item, sketches=sketches))
        else:
            chunks.append(item)
    return {
        span: (rollups, Activity.from_chunks(chunks)) for span, (rollups, chunks) in spans.items()
    }


def _months(first: str, last: str) -> list[str]:
    """Every ``yyyy-mm`` from ``first``'s month to ``last``'s."""
    months, year, month = [], int(first[:4]), int(first[5:7])
    while f"{year:04d}-{month:02d}" <= last[:7]:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
