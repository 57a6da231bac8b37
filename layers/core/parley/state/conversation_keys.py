"""Keys of the ConversationsTable's items and indexes, in one place for every reader.

``gsi2`` (keys only, sparse) holds two kinds of entries:

* each assistant reply, under ``REPLY#<org>#<user>#<message id>``: feedback finds the reply it
  rates by id alone, and a token of another user finds nothing, exactly like a missing reply;
* each conversation's META item, under ``ACTIVE#<UTC day of its last message>#<shard>`` with
  sort key ``<org>#<user>#<conversation id>``: the learning job lists the users active on a
  day with Queries, never a Scan. The entry moves when a conversation is first touched on a
  new day, so the index is written once per conversation per day, not on every message; the
  shard (a stable hash of org and user, ``ACTIVITY_SHARDS`` of them) spreads one busy day over
  several partitions and gives the job a unit to fan out by.
"""

from __future__ import annotations

import zlib

__all__ = [
    "ACTIVITY_INDEX",
    "ACTIVITY_SHARDS",
    "OWNER_INDEX",
    "OWNER_PAGE_KEY",
    "REPLY_INDEX",
    "activity_key",
    "activity_owner",
    "activity_shard",
    "activity_sort_key",
    "conversation_pk",
    "message_sk",
    "owner_key",
    "owner_sort_key",
    "reply_key",
]

OWNER_INDEX = "gsi1"
REPLY_INDEX = "gsi2"
ACTIVITY_INDEX = "gsi2"
ACTIVITY_SHARDS = 8
# The key of a conversation in the owner index, as a page cursor holds it: the table's key and
# the index's.
OWNER_PAGE_KEY = ("pk", "sk", "gsi1pk", "gsi1sk")


def conversation_pk(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


def message_sk(message_id: str) -> str:
    return f"MSG#{message_id}"


def owner_key(org_id: str, user_id: str) -> str:
    return f"OWNER#{org_id}#{user_id}"


def owner_sort_key(updated_at: str, conversation_id: str) -> str:
    """Where a conversation sorts in its owner's list: by its last activity, then its id."""
    return f"{updated_at}#{conversation_id}"


def reply_key(org_id: str, user_id: str, message_id: str) -> str:
    return f"REPLY#{org_id}#{user_id}#{message_id}"


def activity_shard(org_id: str, user_id: str) -> int:
    # crc32, not hash(): the same user must land in the same shard in every process.
    return zlib.crc32(f"{org_id}#{user_id}".encode()) % ACTIVITY_SHARDS


def activity_key(day: str, shard: int) -> str:
    """The partition of one UTC day (``yyyy-mm-dd``) and shard."""
    return f"ACTIVE#{day}#{shard}"


def activity_sort_key(org_id: str, user_id: str, conversation_id: str) -> str:
    return f"{org_id}#{user_id}#{conversation_id}"


def activity_owner(sort_key: str) -> tuple[str, str]:
    """``(org, user)`` from an activity entry's sort key (ids never contain ``#``)."""
    org_id, user_id, _conversation = sort_key.split("#", 2)
    return org_id, user_id
