"""Feedback records (FeedbackTable) and the mark they leave on the rated reply.

A submission is one ``TransactWriteItems``: the record is put in the org's day partition and the
reply's message item gets ``feedback`` (its latest feedback) — both or neither, and the update's
condition (same org and user) makes a reply of anyone else impossible to mark. A reply rated 5
also joins the sparse ``RATED`` index with a snapshot of its question and answer, so that the
training export reads nothing else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from parley.analytics.safety_marks import guardrail_mark
from parley.clock import iso_from_epoch
from parley.errors import Conflict, NotFound
from parley.feedback.cursors import day_cursor_start, record_cursor
from parley.feedback.keys import INDEX, day_pk, order_key, rated_key
from parley.feedback.satisfaction import implicit_satisfaction
from parley.ids import new_id
from parley.state.client import dynamodb_client
from parley.state.conversation_keys import conversation_pk, message_sk
from parley.state.hour_index import hour_index_keys
from parley.state.items import from_item, to_item
from parley.state.paging import query_all, query_items
from parley.state.replies import Replies
from parley.state.transactions import CONDITION_FAILED, back_off, transact_write

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.auth.identity import Identity
    from parley.feedback.days import DayRange
    from parley.feedback.schemas import FeedbackRequest

__all__ = ["HIGH_RATING", "FeedbackRepository", "RatedReply", "is_positive", "public_record"]

# A transaction that collided with another on the reply item is tried again this many times.
_STORE_ATTEMPTS = 4
# "Highly rated" is a rating above 4: only those exchanges become training examples.
HIGH_RATING = 5
# What the API shows of a record, always every field (null when not given): no keys, no
# org, no snapshot of the conversation.
_PUBLIC_FIELDS = (
    "feedback_id",
    "user_id",
    "conversation_id",
    "message_id",
    "model",
    "provider",
    "thumbs",
    "rating",
    "reasons",
    "comment",
    "signals",
    "satisfaction",
    "created_at",
)


@dataclass(frozen=True)
class RatedReply:
    conversation_id: str
    message_id: str
    content: str
    metadata: dict[str, Any]


def is_positive(summary: dict[str, Any]) -> bool:
    """The shared rule: thumbs up, or a rating of 4 or 5."""
    return summary.get("thumbs") == 1 or int(summary.get("rating") or 0) >= 4


def _reply_series(metadata: dict[str, Any]) -> dict[str, Any]:
    """What analytics needs of the rated reply beside its model and provider. Replies are
    stored by the streaming endpoint only."""
    found = metadata.get("route")
    route: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "task_type": metadata.get("task_type"),
        "panel": metadata.get("panel"),
        "route": route.get("name"),
        "tier": route.get("tier"),
        "endpoint": "stream",
        "guardrail": _guardrail_mark(metadata.get("guardrail")),
    }


def _guardrail_mark(found: object) -> str | None:
    """The reply's guardrail decision as its usage event marks it, so that a thumb down on a
    safe reply counts in the safety view as a report of a false positive; None for a reply
    the guardrail did not judge."""
    if not isinstance(found, dict):
        return None
    parts = [found.get("action"), found.get("category"), found.get("stage")]
    kept = [part for part in parts if isinstance(part, str) and part]
    if len(kept) != len(parts):
        return None
    return guardrail_mark(*kept)


def public_record(item: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the API shows it."""
    return {name: item.get(name) for name in _PUBLIC_FIELDS}


class FeedbackRepository:
    def __init__(
        self,
        feedback_table: str,
        conversations_table: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = feedback_table
        self._conversations_table = conversations_table
        self._client = client or dynamodb_client()
        self._replies = Replies(conversations_table, client=self._client)
        self._clock = clock

    def submit(self, owner: Identity, body: FeedbackRequest) -> dict[str, Any]:
        """Store feedback on one of ``owner``'s replies; the public record. NotFound when the
        reply is missing or not theirs (nothing is stored)."""
        reply = self._reply(owner, body)
        created_at = iso_from_epoch(self._clock())
        feedback_id = new_id()
        signals = body.signals.given() if body.signals else None
        satisfaction = implicit_satisfaction(signals)
        order = order_key(created_at, feedback_id)
        record: dict[str, Any] = {
            "pk": day_pk(owner.org_id, created_at[:10]),
            "sk": order,
            # Analytics reads each hour's feedback through this index, filed under the series
            # of the reply it rates (its model and route, as the reply's metadata says).
            **hour_index_keys(owner.org_id, created_at, order),
            **_reply_series(reply.metadata),
            "type": "feedback",
            "feedback_id": feedback_id,
            "org_id": owner.org_id,
            "user_id": owner.user_id,
            "conversation_id": reply.conversation_id,
            "message_id": reply.message_id,
            "model": reply.metadata.get("model"),
            "provider": reply.metadata.get("provider"),
            "thumbs": body.thumbs,
            "rating": body.rating,
            "reasons": body.reasons or None,
            "comment": body.comment,
            "signals": signals or None,
            "satisfaction": satisfaction,
            "created_at": created_at,
        }
        if body.rating is not None and body.rating >= HIGH_RATING:
            question = self._replies.question(reply.conversation_id, reply.message_id)
            prompt = question.content if question and question.role == "user" else ""
            record["gsi1pk"] = rated_key(owner.org_id)
            record["gsi1sk"] = record["sk"]
            record["exchange"] = {"prompt": prompt, "reply": reply.content}
        record = {key: value for key, value in record.items() if value is not None}
        summary = {
            "feedback_id": feedback_id,
            "thumbs": body.thumbs,
            "rating": body.rating,
            "satisfaction": satisfaction,
            "at": created_at,
        }
        self._store(owner, reply, record, {k: v for k, v in summary.items() if v is not None})
        return public_record(record)

    def _reply(self, owner: Identity, body: FeedbackRequest) -> RatedReply:
        if body.conversation_id is None:
            # By id alone, through the reply index (parley.state.replies waits for a fresh one).
            message = self._replies.find(owner, body.message_id)
        else:
            # The client named the conversation: read the reply directly, consistently.
            message = self._replies.get(owner, body.conversation_id, body.message_id)
        return RatedReply(message.conversation_id, message.id, message.content, message.metadata)

    def _store(
        self,
        owner: Identity,
        reply: RatedReply,
        record: dict[str, Any],
        summary: dict[str, Any],
    ) -> None:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._conversations_table,
                    "Key": to_item(
                        {
                            "pk": conversation_pk(reply.conversation_id),
                            "sk": message_sk(reply.message_id),
                        }
                    ),
                    "UpdateExpression": "SET feedback = :summary",
                    "ConditionExpression": "org_id = :org AND user_id = :user",
                    "ExpressionAttributeValues": to_item(
                        {":summary": summary, ":org": owner.org_id, ":user": owner.user_id}
                    ),
                }
            },
        ]
        for attempt in range(_STORE_ATTEMPTS):
            cancelled = transact_write(self._client, self._table, items)
            if cancelled is None:
                return
            if cancelled[1].code == CONDITION_FAILED:
                # The reply vanished (or changed hands) since it was read.
                raise NotFound("No such message.")
            if cancelled[0].code == CONDITION_FAILED:
                raise Conflict("A feedback record with this id exists; send it again.")
            back_off(attempt)  # another transaction was writing the reply: try again
        raise Conflict("The reply was being rated by other requests; send the feedback again.")

    def page(
        self,
        org_id: str,
        days: DayRange,
        *,
        limit: int,
        cursor: str | None = None,
        thumbs: int | None = None,
        min_rating: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The org's feedback in ``days``, newest first, and the next page's cursor (the key
        of this page's last record, so the next page starts right after it)."""
        partitions = [day_pk(org_id, day) for day in reversed(days.days())]
        start = day_cursor_start(cursor, partitions)
        found: list[dict[str, Any]] = []
        position = partitions.index(start["pk"]["S"]) if start else 0
        filters, values = _filters(thumbs, min_rating)
        for partition in partitions[position:]:
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": to_item({":pk": partition, **values}),
                "ScanIndexForward": False,
                "Limit": limit,
            }
            if filters:
                query["FilterExpression"] = filters
            key = start if start and start["pk"]["S"] == partition else None
            wanted = limit - len(found)
            found.extend(
                from_item(item) for item in islice(query_items(self._client, query, key), wanted)
            )
            if len(found) >= limit:
                return [public_record(item) for item in found], record_cursor(found[-1])
        return [public_record(item) for item in found], None

    def records(self, org_id: str, day: str) -> Iterator[dict[str, Any]]:
        """Every record of one org and day, oldest first, paging through the partition."""
        return query_all(
            self._client,
            {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": to_item({":pk": day_pk(org_id, day)}),
                # What the analytics count: rates, and per model the comments.
                "ProjectionExpression": "#t, #r, #s, #g, #m, #p, #c, created_at",
                "ExpressionAttributeNames": {
                    "#t": "thumbs",
                    "#r": "rating",
                    "#s": "satisfaction",
                    "#g": "signals",
                    "#m": "model",
                    "#p": "provider",
                    "#c": "comment",
                },
            },
        )

    def rated(self, org_id: str) -> Iterator[dict[str, Any]]:
        """Every highly rated record of the org with its exchange, oldest first."""
        return query_all(
            self._client,
            {
                "TableName": self._table,
                "IndexName": INDEX,
                "KeyConditionExpression": "gsi1pk = :rated",
                "ExpressionAttributeValues": to_item({":rated": rated_key(org_id)}),
            },
        )


def _filters(thumbs: int | None, min_rating: int | None) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    values: dict[str, Any] = {}
    if thumbs is not None:
        clauses.append("thumbs = :thumbs")
        values[":thumbs"] = thumbs
    if min_rating is not None:
        clauses.append("rating >= :min_rating")
        values[":min_rating"] = min_rating
    return " AND ".join(clauses), values
