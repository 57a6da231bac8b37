"""Health records in DynamoDB, in the AnalyticsTable beside the rollups (docs/data-model.md).

    hour summary   pk=HEALTH#HOURS   sk=<yyyy-mm-ddTHH>
    health record  pk=HEALTH#HOURS   sk=<yyyy-mm-ddTHH>#<provider>#<model>
    reset mark     pk=HEALTH#RESETS  sk=<model>
    audit entry    pk=HEALTH#AUDIT   sk=<audit id>  (a parley.ids id: sorts by time)

One partition holds every hour, sorted by hour: an hour is one Query (``begins_with`` its
hour: the summary, then its records), and the newest hour is the first item of a descending
Query. A few dozen items an hour make the partition a few hundred thousand items over the
400 days they are kept (TTL on ``expires_at``), far below anything a partition minds.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from parley.errors import ServiceUnavailable
from parley.operations.health.records import (
    AuditEntry,
    HealthHour,
    HealthRecord,
    HourSummary,
    ResetMark,
)
from parley.operations.health.store.base import HEALTH_RETENTION_DAYS, HealthStore
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors
from parley.state.items import from_item, to_item
from parley.state.paging import query_all
from parley.state.transactions import back_off, transact_write

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["HealthRepository"]

HOURS = "HEALTH#HOURS"
RESETS = "HEALTH#RESETS"
AUDIT = "HEALTH#AUDIT"
_BATCH = 25  # BatchWriteItem's limit
_WRITE_ATTEMPTS = 8


class HealthRepository(HealthStore):
    def __init__(
        self,
        table_name: str,
        *,
        retention_days: int = HEALTH_RETENTION_DAYS,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._retention = timedelta(days=retention_days)
        self._client = client or dynamodb_client()
        self._clock = clock

    def put_hour(self, summary: HourSummary, records: Sequence[HealthRecord]) -> None:
        end = datetime.fromisoformat(f"{summary.hour}:00").replace(tzinfo=UTC)
        expires_at = int((end + timedelta(hours=1) + self._retention).timestamp())
        items = [{**summary.document(), "sk": summary.hour}] + [
            {**record.document(), "sk": _record_key(record)} for record in records
        ]
        wanted = {item["sk"] for item in items}
        # A model gone from the catalog and from the hour's events since the last run for
        # this hour would otherwise keep its old record.
        stale = [
            {"DeleteRequest": {"Key": to_item({"pk": HOURS, "sk": sk})}}
            for sk in self._hour_keys(summary.hour)
            if sk not in wanted
        ]
        puts = [
            {"PutRequest": {"Item": to_item({**item, "pk": HOURS, "expires_at": expires_at})}}
            for item in items
        ]
        for start in range(0, len(puts) + len(stale), _BATCH):
            self._write((puts + stale)[start : start + _BATCH])

    def hour(self, hour: str) -> HealthHour | None:
        items = list(query_all(self._client, self._hour_query(hour)))
        summary = next((item for item in items if item["sk"] == hour), None)
        if summary is None:
            return None
        records = [HealthRecord.from_document(item) for item in items if item["sk"] != hour]
        return HealthHour(HourSummary.from_document(summary), records)

    def latest_hour(self) -> str | None:
        with dynamodb_errors(self._table):
            # One item: the newest. Had it expired, every older one would have too.
            found = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                FilterExpression="expires_at > :now",
                ExpressionAttributeValues=to_item({":pk": HOURS, ":now": int(self._clock())}),
                ScanIndexForward=False,
                Limit=1,
            ).get("Items", [])
        return str(from_item(found[0])["sk"])[:13] if found else None

    def record_reset(self, entry: AuditEntry) -> None:
        mark = {**entry.mark().document(), "pk": RESETS, "sk": entry.model}
        audit = {**entry.document(), "pk": AUDIT, "sk": entry.audit_id}
        cancelled = transact_write(
            self._client,
            self._table,
            [
                {"Put": {"TableName": self._table, "Item": to_item(mark)}},
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(audit),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ],
        )
        if cancelled is not None:
            # The entry's id is new for every reset: only contention gets here.
            raise ServiceUnavailable("The reset was not recorded; try again.")

    def resets(self) -> dict[str, ResetMark]:
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": RESETS}),
        }
        marks = (ResetMark.from_document(item) for item in query_all(self._client, query))
        return {mark.model: mark for mark in marks}

    def audit(self, *, limit: int) -> list[AuditEntry]:
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": AUDIT}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items = itertools.islice(query_all(self._client, query), limit)
        return [AuditEntry.from_document(item) for item in items]

    def _hour_query(self, hour: str) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :hour)",
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeValues": to_item(
                {":pk": HOURS, ":hour": hour, ":now": int(self._clock())}
            ),
        }

    def _hour_keys(self, hour: str) -> list[str]:
        query = {**self._hour_query(hour), "ProjectionExpression": "sk"}
        query.pop("FilterExpression")  # expired or not, a stale item is deleted
        query["ExpressionAttributeValues"] = to_item({":pk": HOURS, ":hour": hour})
        return [str(item["sk"]) for item in query_all(self._client, query)]

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
        raise ServiceUnavailable("The analytics table is throttling writes; the job will retry.")


def _record_key(record: HealthRecord) -> str:
    return f"{record.hour}#{record.provider}#{record.model}"
