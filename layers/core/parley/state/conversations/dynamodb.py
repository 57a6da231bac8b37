"""Conversations and their messages in DynamoDB (table ``ConversationsTable``).

Keys (see docs/data-model.md):
    conversation  pk=CONV#<id>  sk=META        gsi1pk=OWNER#<org>#<user>  gsi1sk=<updated_at>#<id>
    message       pk=CONV#<id>  sk=MSG#<message id, time-ordered>

One Query on ``pk`` returns a conversation and its messages in order; the owner index lists a
user's conversations, most recently active first. Ownership is checked on every access: a
conversation of another user is reported exactly like a missing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.clock import now_iso
from parley.errors import Conflict, NotFound
from parley.ids import new_id
from parley.state.client import dynamodb_client
from parley.state.conversation_keys import (
    OWNER_INDEX,
    OWNER_PAGE_KEY,
    activity_key,
    activity_shard,
    activity_sort_key,
    conversation_pk,
    message_sk,
    owner_key,
    owner_sort_key,
    reply_key,
)
from parley.state.conversations.base import (
    Conversation,
    ConversationBusy,
    ConversationStore,
    Message,
    MessageStatus,
    Role,
    new_conversation,
    new_message,
)
from parley.state.errors import dynamodb_errors
from parley.state.items import from_item, to_item
from parley.state.paging import decode_cursor, encode_cursor, query_from
from parley.state.transactions import CONDITION_FAILED, back_off, transact_write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        PutTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

    from parley.auth.identity import Identity

__all__ = ["ConversationRepository", "message_from_item"]

# A message write that collides with another writer of its conversation is tried this often.
_TRANSACTION_ATTEMPTS = 4


class ConversationRepository(ConversationStore):
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or dynamodb_client()

    def create(self, owner: Identity, *, title: str = "") -> Conversation:
        conversation = new_conversation(owner, new_id(), title, now_iso())
        with dynamodb_errors(self._table):
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    self._conversation_item(owner, conversation.id, title, conversation.created_at)
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        return conversation

    def _conversation_item(
        self, owner: Identity, conversation_id: str, title: str, now: str
    ) -> dict[str, Any]:
        return {
            "pk": _pk(conversation_id),
            "sk": "META",
            "gsi1pk": _owner_key(owner),
            "gsi1sk": owner_sort_key(now, conversation_id),
            **_activity(owner, conversation_id, now),
            "type": "conversation",
            "org_id": owner.org_id,
            "user_id": owner.user_id,
            "title": title,
            "created_at": now,
            "updated_at": now,
            "message_count": 0,
        }

    def get(self, owner: Identity, conversation_id: str) -> Conversation:
        with dynamodb_errors(self._table):
            response = self._client.get_item(
                TableName=self._table,
                Key=to_item({"pk": _pk(conversation_id), "sk": "META"}),
                ConsistentRead=True,
            )
        item = response.get("Item")
        conversation = _conversation(from_item(item)) if item else None
        if conversation is None or not _owns(owner, conversation):
            raise NotFound("No such conversation.")
        return conversation

    def get_with_messages(
        self, owner: Identity, conversation_id: str, *, limit: int = 100
    ) -> tuple[Conversation, list[Message]]:
        """The conversation and its first ``limit`` messages, oldest first, in one Query."""
        with dynamodb_errors(self._table):
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_item({":pk": _pk(conversation_id)}),
                Limit=limit + 1,  # META sorts before every MSG#
            )
        items = [from_item(item) for item in response.get("Items", [])]
        if not items or items[0]["sk"] != "META" or not _owns(owner, _conversation(items[0])):
            raise NotFound("No such conversation.")
        return _conversation(items[0]), [message_from_item(item) for item in items[1:]]

    def list_for_owner(
        self, owner: Identity, *, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[Conversation], str | None]:
        """The owner's conversations, most recently active first, and the next page's cursor."""
        owner_key = _owner_key(owner)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :owner",
            "ExpressionAttributeValues": to_item({":owner": owner_key}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, attributes=OWNER_PAGE_KEY, partition=("gsi1pk", owner_key))
        response = query_from(self._client, query, start)
        conversations = [_conversation(from_item(item)) for item in response.get("Items", [])]
        return conversations, encode_cursor(response.get("LastEvaluatedKey"))

    def add_message(
        self,
        owner: Identity,
        conversation_id: str,
        *,
        role: Role,
        content: str,
        status: MessageStatus = "complete",
        metadata: dict[str, Any] | None = None,
        message_id: str | None = None,
        new_conversation_title: str | None = None,
    ) -> Message:
        # One transaction: the message, and the conversation's update (or, with
        # ``new_conversation_title``, its creation).
        message = new_message(
            conversation_id,
            role=role,
            content=content,
            status=status,
            metadata=metadata,
            message_id=message_id,
            now=now_iso(),
        )
        now = message.created_at
        item = {
            "pk": _pk(conversation_id),
            "sk": message_sk(message.id),
            "type": "message",
            "message_id": message.id,
            "org_id": owner.org_id,
            "user_id": owner.user_id,
            "role": role,
            "content": content,
            "status": status,
            "created_at": now,
            "metadata": message.metadata,
        }
        if role == "assistant":
            item["gsi2pk"] = reply_key(owner.org_id, owner.user_id, message.id)
            item["gsi2sk"] = conversation_id
        if new_conversation_title is not None:
            conversation = self._conversation_item(
                owner, conversation_id, new_conversation_title, now
            )
            conversation["message_count"] = 1
            opening: PutTypeDef = {
                "TableName": self._table,
                "Item": to_item(conversation),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            self._transact([{"Put": opening}, {"Put": self._message_put(item)}], message.id)
            return message
        activity = _activity(owner, conversation_id, now)
        touch: UpdateTypeDef = {
            "TableName": self._table,
            "Key": to_item({"pk": _pk(conversation_id), "sk": "META"}),
            "UpdateExpression": "SET updated_at = :now, gsi1sk = :order, "
            "gsi2pk = :active, gsi2sk = :who ADD message_count :one",
            "ConditionExpression": "org_id = :org AND user_id = :user",
            "ExpressionAttributeValues": to_item(
                {
                    ":now": now,
                    ":order": owner_sort_key(now, conversation_id),
                    ":active": activity["gsi2pk"],
                    ":who": activity["gsi2sk"],
                    ":one": 1,
                    ":org": owner.org_id,
                    ":user": owner.user_id,
                }
            ),
        }
        self._transact([{"Update": touch}, {"Put": self._message_put(item)}], message.id)
        return message

    def _message_put(self, item: dict[str, Any]) -> PutTypeDef:
        return {
            "TableName": self._table,
            "Item": to_item(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _transact(self, items: list[TransactWriteItemTypeDef], message_id: str) -> None:
        """Run a [conversation, message] transaction (``state.transactions``: throttling is a
        503 as for every transaction). Its first item failing its condition means the
        conversation is missing (update) or taken (put), its second that the message exists;
        a collision with another writer of the conversation is tried again, then 409."""
        for attempt in range(_TRANSACTION_ATTEMPTS):
            cancelled = transact_write(self._client, self._table, items)
            if cancelled is None:
                return
            if cancelled[0].code == CONDITION_FAILED:
                if "Put" in items[0]:
                    raise Conflict("That conversation id is taken.")
                raise NotFound("No such conversation.")
            if len(cancelled) > 1 and cancelled[1].code == CONDITION_FAILED:
                raise Conflict(f"Message {message_id} already exists.")
            back_off(attempt)  # only collisions (TransactionConflict) are left
        raise ConversationBusy()

    def recent_messages(self, conversation_id: str, *, limit: int) -> list[Message]:
        """The last ``limit`` messages, oldest first. The caller has checked ownership."""
        if limit < 1:  # PARLEY_CONTEXT_MESSAGES=0: no context; a Query's Limit must be 1 or more
            return []
        with dynamodb_errors(self._table):
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :msg)",
                ExpressionAttributeValues=to_item({":pk": _pk(conversation_id), ":msg": "MSG#"}),
                ScanIndexForward=False,
                Limit=limit,
            )
        return [message_from_item(from_item(item)) for item in reversed(response.get("Items", []))]


def _pk(conversation_id: str) -> str:
    return conversation_pk(conversation_id)


def _owner_key(owner: Identity) -> str:
    return owner_key(owner.org_id, owner.user_id)


def _activity(owner: Identity, conversation_id: str, now: str) -> dict[str, str]:
    """The conversation's entry in the activity index: its last message's UTC day."""
    shard = activity_shard(owner.org_id, owner.user_id)
    return {
        "gsi2pk": activity_key(now[:10], shard),
        "gsi2sk": activity_sort_key(owner.org_id, owner.user_id, conversation_id),
    }


def _owns(owner: Identity, conversation: Conversation) -> bool:
    return conversation.org_id == owner.org_id and conversation.user_id == owner.user_id


def _conversation(item: dict[str, Any]) -> Conversation:
    return Conversation(
        id=item["pk"].removeprefix("CONV#"),
        org_id=item["org_id"],
        user_id=item["user_id"],
        title=item.get("title", ""),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        message_count=int(item.get("message_count", 0)),
    )


def message_from_item(item: dict[str, Any]) -> Message:
    return Message(
        id=item["message_id"],
        conversation_id=item["pk"].removeprefix("CONV#"),
        role=item["role"],
        content=item["content"],
        status=item["status"],
        created_at=item["created_at"],
        metadata=item.get("metadata", {}),
        feedback=item.get("feedback"),
    )
