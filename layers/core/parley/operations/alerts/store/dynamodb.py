"""Alerts in DynamoDB (table ``AnalyticsTable``; docs/data-model.md).

    state    pk=ALERTS#<scope>  sk=STATE#<rule>#<subject>
    history  pk=ALERTS#<scope>  sk=HIST#<published at, ISO, ms>#<rule>#<subject>

One partition per scope: its states are a handful of items and its history sorts by time.
History items expire (TTL on ``expires_at``) ``HISTORY_DAYS`` after they were written.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from parley.operations.alerts.store.base import HISTORY_DAYS, AlertRecord, AlertState, AlertStore
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors
from parley.state.items import to_item
from parley.state.paging import query_all

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["AlertRepository"]


class AlertRepository(AlertStore):
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

    def states(self, scope: str) -> dict[tuple[str, str], AlertState]:
        with dynamodb_errors(self._table):
            items = list(
                query_all(
                    self._client,
                    {
                        "TableName": self._table,
                        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :states)",
                        "ExpressionAttributeValues": to_item(
                            {":pk": _pk(scope), ":states": "STATE#"}
                        ),
                        "ConsistentRead": True,
                    },
                )
            )
        found = {}
        for values in items:
            state = AlertState(
                rule=str(values["rule"]),
                subject=str(values["subject"]),
                since=_number(values.get("since")),
                notified_at=_number(values.get("notified_at")),
            )
            found[(state.rule, state.subject)] = state
        return found

    def put_state(self, scope: str, state: AlertState) -> None:
        values: dict[str, Any] = {
            "pk": _pk(scope),
            "sk": f"STATE#{state.rule}#{state.subject}",
            "rule": state.rule,
            "subject": state.subject,
        }
        if state.since is not None:
            values["since"] = state.since
        if state.notified_at is not None:
            values["notified_at"] = state.notified_at
        with dynamodb_errors(self._table):
            self._client.put_item(TableName=self._table, Item=to_item(values))

    def record(self, scope: str, record: AlertRecord) -> None:
        stamp = datetime.fromtimestamp(record.at, tz=UTC).isoformat(timespec="milliseconds")
        values = {
            "pk": _pk(scope),
            "sk": f"HIST#{stamp}#{record.rule}#{record.subject}",
            "at": record.at,
            "status": record.status,
            "rule": record.rule,
            "subject": record.subject,
            "message": record.message,
            "expires_at": int(record.at + HISTORY_DAYS * 86_400),
        }
        with dynamodb_errors(self._table):
            self._client.put_item(TableName=self._table, Item=to_item(values))

    def history(self, scope: str, *, since: float, limit: int = 100) -> list[AlertRecord]:
        now = self._clock()
        start = max(since, now - HISTORY_DAYS * 86_400)
        lower = datetime.fromtimestamp(start, tz=UTC).isoformat(timespec="milliseconds")
        with dynamodb_errors(self._table):
            query = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
                "ExpressionAttributeValues": to_item(
                    {":pk": _pk(scope), ":from": f"HIST#{lower}", ":to": "HIST#~"}
                ),
                "ScanIndexForward": False,
            }
            # The newest ``limit``: the rest of the partition is never read.
            items = list(itertools.islice(query_all(self._client, query), limit))
        records = []
        for values in items:
            if int(values.get("expires_at", now + 1)) <= now:
                continue  # expired, not yet deleted by DynamoDB's TTL
            records.append(
                AlertRecord(
                    at=float(values["at"]),
                    status=values["status"],
                    rule=str(values["rule"]),
                    subject=str(values["subject"]),
                    message=dict(values.get("message") or {}),
                )
            )
        return records


def _pk(scope: str) -> str:
    return f"ALERTS#{scope}"


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
