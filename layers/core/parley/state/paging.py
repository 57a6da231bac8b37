"""Paging through Query results: opaque cursors (a Query's LastEvaluatedKey, bound to the
partition it came from) for APIs, and every page of a Query for jobs and exports."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from parley.errors import BadRequest
from parley.state.errors import dynamodb_errors

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["decode_cursor", "encode_cursor", "query_all"]


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, *, partition: tuple[str, str | Collection[str]]
) -> dict[str, Any] | None:
    """The start key for the next page. ``partition`` is the (attribute, value) the Query is
    fixed to, or the values of the partitions a read goes through (several days, say); a
    cursor from any other partition (another user's list) is refused."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The page cursor is not valid.") from exc
    attribute, values = partition
    allowed = {values} if isinstance(values, str) else set(values)
    if not isinstance(key, dict):
        raise BadRequest("The page cursor is not valid.")
    found = key.get(attribute)
    if not isinstance(found, dict) or set(found) != {"S"} or found["S"] not in allowed:
        raise BadRequest("The page cursor is not valid.")
    start: dict[str, Any] = key
    return start


def query_all(client: DynamoDBClient, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item ``query`` (Query's parameters, ``TableName`` included) finds, page after
    page, as plain values. Lazy: a caller that stops early reads no further page."""
    # Imported here: it loads boto3, which modules that only import this one should not.
    from parley.state.items import from_item

    query = dict(query)
    while True:
        with dynamodb_errors(query["TableName"]):
            response = client.query(**query)
        yield from (from_item(item) for item in response.get("Items", []))
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return
        query["ExclusiveStartKey"] = last_key
