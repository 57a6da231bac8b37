"""Finding one of a user's assistant replies (ConversationsTable), for feedback on it.

A client rates a reply by its id alone: the sparse reply index ``gsi2``
(``REPLY#<org>#<user>#<message id>``, see ``parley.state.conversation_keys``) gives the
conversation, and a consistent GetItem the message, whose owner is checked again. Another
user's reply finds nothing in the index, exactly like a missing one.

The index is eventually consistent (typically well under a second), and a client may rate a
reply the moment it ends: an id the index does not know yet, but whose timestamp says it was
made in the last ``FRESH_REPLY_SECONDS``, is looked up again after each of
``FRESH_REPLY_RETRIES`` (1.5 s in all) before it is called missing. Older ids, and ids Parley
did not make, are answered at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from parley.errors import NotFound
from parley.ids import id_timestamp_ms
from parley.state.client import dynamodb_client
from parley.state.conversation_keys import REPLY_INDEX, conversation_pk, message_sk, reply_key
from parley.state.conversations import message_from_item
from parley.state.errors import dynamodb_errors
from parley.state.items import from_item, to_item

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.auth.identity import Identity
    from parley.state.conversations import Message

__all__ = ["FRESH_REPLY_RETRIES", "FRESH_REPLY_SECONDS", "Replies"]

FRESH_REPLY_SECONDS = 10.0
FRESH_REPLY_RETRIES = (0.1, 0.2, 0.4, 0.8)


class Replies:
    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client or dynamodb_client()
        self._clock = clock
        self._sleep = sleep

    def find(self, owner: Identity, message_id: str) -> Message:
        """One of the owner's replies, by id alone. NotFound for a missing reply or
        another user's."""
        for delay in (*FRESH_REPLY_RETRIES, None):
            conversation_id = self._indexed(owner, message_id)
            if conversation_id is not None:
                return self.get(owner, conversation_id, message_id)
            if delay is None or not self._made_recently(message_id):
                break
            self._sleep(delay)
        raise NotFound("No such message.")

    def get(self, owner: Identity, conversation_id: str, message_id: str) -> Message:
        """One of the owner's replies, read consistently from its conversation. NotFound for
        a missing message, another user's, or one that is not a reply."""
        with dynamodb_errors(self._table):
            item = self._client.get_item(
                TableName=self._table,
                Key=to_item({"pk": conversation_pk(conversation_id), "sk": message_sk(message_id)}),
                ConsistentRead=True,
            ).get("Item")
        values = from_item(item) if item else None
        if (
            values is None
            or values.get("role") != "assistant"
            or values.get("org_id") != owner.org_id
            or values.get("user_id") != owner.user_id
        ):
            raise NotFound("No such message.")
        return message_from_item(values)

    def question(self, conversation_id: str, message_id: str) -> Message | None:
        """The message just before ``message_id`` (a reply's question). The caller has
        checked ownership."""
        this = message_sk(message_id)
        with dynamodb_errors(self._table):
            items = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :this",
                ExpressionAttributeValues=to_item(
                    {":pk": conversation_pk(conversation_id), ":first": "MSG#", ":this": this}
                ),
                ScanIndexForward=False,
                Limit=2,  # the message itself, then the one before it
            ).get("Items", [])
        for item in items:
            values = from_item(item)
            if values["sk"] < this:
                return message_from_item(values)
        return None

    def _indexed(self, owner: Identity, message_id: str) -> str | None:
        """The conversation holding the reply, per the reply index; None if it has none."""
        with dynamodb_errors(self._table):
            found = self._client.query(
                TableName=self._table,
                IndexName=REPLY_INDEX,
                KeyConditionExpression="gsi2pk = :reply",
                ExpressionAttributeValues=to_item(
                    {":reply": reply_key(owner.org_id, owner.user_id, message_id)}
                ),
                Limit=1,
            ).get("Items", [])
        if not found:
            return None
        return str(from_item(found[0])["pk"]).removeprefix("CONV#")

    def _made_recently(self, message_id: str) -> bool:
        try:
            made_ms = id_timestamp_ms(message_id)
        except ValueError:  # not an id Parley made: nothing to wait for
            return False
        return self._clock() * 1000 - made_ms < FRESH_REPLY_SECONDS * 1000
