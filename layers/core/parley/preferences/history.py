"""What the learning job reads, with Queries only: who was active, and what they chose.

Active users: each conversation's META item is in the activity index (``gsi2``) under the UTC
day of its last message and its owner's shard (``parley.state.conversation_keys``). For each
shard and each day, newest first, one paged Query lists that day's conversations, sorted by
``<org>#<user>#<conversation>``, so one user's entries are adjacent. A user with
conversations on several days belongs to the newest of them: on an older day a one-item
Query of each newer day's partition tells whether the user was already met there. No set of
seen users is kept, so a run can stop anywhere and another invocation continue from a
``Position`` without meeting anyone twice.

A user's recent choices: their conversations from the owner index (``gsi1``, most recently
active first, only those active since the cut-off), then each conversation's messages since
the cut-off (``sk >= MSG#<lowest id of that millisecond>``), newest first, each user message
paired with the assistant reply that follows it (whose ``feedback`` says if it was liked).
Reading stops once the last ``limit`` user messages are known: a conversation last active
before the oldest of them cannot hold a newer one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from parley.clock import iso_from_epoch
from parley.errors import BadRequest
from parley.ids import id_floor, id_timestamp_ms
from parley.preferences.learning import ChoiceRecord, sentiment
from parley.state.conversation_keys import (
    ACTIVITY_INDEX,
    OWNER_INDEX,
    activity_key,
    activity_owner,
    conversation_pk,
    message_sk,
    owner_key,
)
from parley.state.errors import dynamodb_errors
from parley.state.paging import query_all, query_items

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["ActiveUser", "ActiveUsers", "Position", "Turn", "UserHistory"]

_PAGE = 100
_ABOVE_EVERY_MESSAGE = "MSG#~"  # "~" sorts after every id character


@dataclass(frozen=True)
class ActiveUser:
    org_id: str
    user_id: str


@dataclass(frozen=True)
class Position:
    """Where a walk over the activity index stands, just after ``owner``'s entries."""

    shard: int
    day: str
    after: dict[str, Any]  # the last entry read (ExclusiveStartKey of the next Query)
    owner: str  # "<org>#<user>" of that entry

    def encode(self) -> str:
        raw = json.dumps(
            {"shard": self.shard, "day": self.day, "after": self.after, "owner": self.owner},
            separators=(",", ":"),
            sort_keys=True,
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, *, shards: Sequence[int], days: Sequence[str]) -> Position:
        """A cursor from ``encode``; refused unless it belongs to these shards and days."""
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            position = cls(
                shard=int(raw["shard"]),
                day=str(raw["day"]),
                after=dict(raw["after"]),
                owner=str(raw["owner"]),
            )
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise BadRequest("The job cursor is not valid.") from exc
        expected = {"S": activity_key(position.day, position.shard)}
        if position.shard not in shards or position.day not in days:
            raise BadRequest("The job cursor belongs to another run (hour or shards).")
        if position.after.get("gsi2pk") != expected:
            raise BadRequest("The job cursor is not valid.")
        return position


class ActiveUsers:
    """The users with a conversation active on the given days, each once."""

    def __init__(self, table_name: str, *, client: DynamoDBClient, page_size: int = _PAGE) -> None:
        self._table = table_name
        self._client = client
        self._page = page_size

    def walk(
        self, *, days: Sequence[str], shards: Sequence[int], start: Position | None = None
    ) -> Iterator[tuple[ActiveUser, Position]]:
        """Each user, newest day first within each shard, with the position just after them.
        ``days`` are newest first; ``start`` resumes after a position an earlier walk gave."""
        for shard in shards:
            if start is not None and shard != start.shard:
                continue
            for index, day in enumerate(days):
                if start is not None and day != start.day:
                    continue
                resume, start = start, None
                yield from self._day(shard, day, days[:index], resume)

    def _day(
        self, shard: int, day: str, newer_days: Sequence[str], resume: Position | None
    ) -> Iterator[tuple[ActiveUser, Position]]:
        partition = activity_key(day, shard)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ACTIVITY_INDEX,
            "KeyConditionExpression": "gsi2pk = :day",
            "ExpressionAttributeValues": _strings({":day": partition}),
            "Limit": self._page,
        }
        previous = resume.owner if resume is not None else ""
        start = resume.after if resume is not None else None
        for item in query_items(self._client, query, start):
            org_id, user_id = activity_owner(item["gsi2sk"]["S"])
            owner = f"{org_id}#{user_id}"
            if owner == previous:
                continue  # the same user's next conversation
            previous = owner
            if self._met_on_newer_day(owner, shard, newer_days):
                continue
            yield ActiveUser(org_id, user_id), Position(shard, day, item, owner)

    def _met_on_newer_day(self, owner: str, shard: int, newer_days: Sequence[str]) -> bool:
        for day in newer_days:
            with dynamodb_errors(self._table):
                found = self._client.query(
                    TableName=self._table,
                    IndexName=ACTIVITY_INDEX,
                    KeyConditionExpression="gsi2pk = :day AND begins_with(gsi2sk, :owner)",
                    ExpressionAttributeValues=_strings(
                        {":day": activity_key(day, shard), ":owner": f"{owner}#"}
                    ),
                    Limit=1,
                ).get("Items", [])
            if found:
                return True
        return False


@dataclass(frozen=True)
class Turn:
    """A user message and the feedback on the reply that followed it."""

    message_id: str
    metadata: dict[str, Any]
    reply_feedback: dict[str, Any] | None

    def choice_record(self) -> ChoiceRecord | None:
        panel, choices = self.metadata.get("panel"), self.metadata.get("choices")
        if not isinstance(panel, str) or not isinstance(choices, dict) or not choices:
            return None
        at_ms = _id_ms(self.message_id)
        return ChoiceRecord(
            panel, choices, sentiment(self.reply_feedback), at_ms if at_ms >= 0 else None
        )


class UserHistory:
    def __init__(self, table_name: str, *, client: DynamoDBClient, page_size: int = _PAGE) -> None:
        self._table = table_name
        self._client = client
        self._page = page_size

    def recent_turns(self, user: ActiveUser, *, since_ms: int, limit: int) -> list[Turn]:
        """The user's last ``limit`` messages since ``since_ms``, newest first."""
        turns: list[Turn] = []
        for conversation_id, updated_ms in self._conversations(user, since_ms):
            if len(turns) >= limit and _id_ms(turns[limit - 1].message_id) > updated_ms:
                break  # this conversation and every later one were last active before those
            turns.extend(self._turns(conversation_id, since_ms, limit))
            turns.sort(key=lambda turn: turn.message_id, reverse=True)
            del turns[limit:]
        return turns

    def _conversations(self, user: ActiveUser, since_ms: int) -> Iterator[tuple[str, int]]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :owner AND gsi1sk >= :since",
            "ExpressionAttributeValues": _strings(
                {
                    ":owner": owner_key(user.org_id, user.user_id),
                    ":since": iso_from_epoch(since_ms / 1000),
                }
            ),
            "ProjectionExpression": "pk, #updated",
            "ExpressionAttributeNames": {"#updated": "updated_at"},
            "ScanIndexForward": False,
            "Limit": self._page,
        }
        yield from (
            (item["pk"].removeprefix("CONV#"), _epoch_ms(item["updated_at"]))
            for item in query_all(self._client, query)
        )

    def _turns(self, conversation_id: str, since_ms: int, limit: int) -> list[Turn]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :since AND :end",
            "ExpressionAttributeValues": _strings(
                {
                    ":pk": conversation_pk(conversation_id),
                    ":since": message_sk(id_floor(since_ms)),
                    ":end": _ABOVE_EVERY_MESSAGE,
                }
            ),
            # The message text is not needed: only who wrote it, its choices and feedback.
            "ProjectionExpression": "message_id, #role, #metadata, #feedback",
            "ExpressionAttributeNames": {
                "#role": "role",
                "#metadata": "metadata",
                "#feedback": "feedback",
            },
            "ScanIndexForward": False,
            "Limit": self._page,
        }
        turns: list[Turn] = []
        following: dict[str, Any] | None = None  # the message after this one in time
        for item in query_all(self._client, query):
            if item.get("role") == "user":
                reply = following if following and following.get("role") == "assistant" else None
                turns.append(
                    Turn(
                        message_id=item["message_id"],
                        metadata=item.get("metadata") or {},
                        reply_feedback=reply.get("feedback") if reply else None,
                    )
                )
                if len(turns) >= limit:
                    break
            following = item
        return turns


def _strings(values: dict[str, str]) -> dict[str, Any]:
    """Expression values, all strings, as DynamoDB attribute values."""
    return {name: {"S": value} for name, value in values.items()}


def _id_ms(message_id: str) -> int:
    """When a message was made, from its id; -1 for an id not made by ``new_id`` (which then
    never ends the reading early)."""
    try:
        return id_timestamp_ms(message_id)
    except ValueError:
        return -1


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)
