"""The hour index (``gsi2``) of the usage and feedback tables: every item of one UTC hour, in
``HOUR_SHARDS`` partitions by org, sorted by org and then time.

It is how the aggregation job reads an hour without knowing which orgs were active and
without a Scan: one Query per shard, each org's items contiguous (ids never contain ``#``, so
``<org>#`` is a prefix no other org's key shares), and a run that stops between orgs resumes
after the last one it finished (``after_org_key``). An org's items are all in one shard, so a
shard's run sees each org whole.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = [
    "HOUR_INDEX",
    "HOUR_SHARDS",
    "after_org_key",
    "hour_index_keys",
    "hour_partition",
    "hour_query",
    "org_shard",
]

HOUR_INDEX = "gsi2"
HOUR_SHARDS = 8


def org_shard(org_id: str) -> int:
    """The org's shard: stable across processes and releases (not Python's ``hash``)."""
    digest = hashlib.blake2b(org_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % HOUR_SHARDS


def hour_partition(hour: str, shard: int) -> str:
    """``hour`` is ``yyyy-mm-ddTHH`` (UTC)."""
    return f"HOUR#{hour}#{shard}"


def hour_index_keys(org_id: str, stamp: str, order: str) -> dict[str, str]:
    """The index attributes of an item of ``org_id`` made at ``stamp`` (ISO, UTC) whose
    place within its org and hour is ``order`` (its sort key in its own table)."""
    return {
        "gsi2pk": hour_partition(stamp[:13], org_shard(org_id)),
        "gsi2sk": f"{org_id}#{order}",
    }


def after_org_key(org_id: str) -> str:
    """A sort key above every one of ``org_id``'s in an hour (orders start with a digit)."""
    return f"{org_id}#~"


def hour_query(
    table: str, hour: str, shard: int, *, after_org: str | None, live_at: int | None = None
) -> dict[str, Any]:
    """Query's parameters for one hour and shard of ``table``'s hour index, from after
    ``after_org``'s items; with ``live_at`` (epoch seconds), only items whose ``expires_at``
    is later."""
    from parley.state.items import to_item  # boto3's serializer: loaded by what queries

    condition = "gsi2pk = :pk"
    values: dict[str, Any] = {":pk": hour_partition(hour, shard)}
    if after_org is not None:
        condition += " AND gsi2sk > :after"
        values[":after"] = after_org_key(after_org)
    query: dict[str, Any] = {
        "TableName": table,
        "IndexName": HOUR_INDEX,
        "KeyConditionExpression": condition,
    }
    if live_at is not None:
        query["FilterExpression"] = "expires_at > :now"
        values[":now"] = live_at
    return {**query, "ExpressionAttributeValues": to_item(values)}
