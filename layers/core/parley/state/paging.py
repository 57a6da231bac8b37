"""Paging through Query results: opaque cursors (a Query's LastEvaluatedKey, bound to the
partition it came from) for APIs, and every page of a Query for jobs and exports.

A cursor comes back from the client, so it is checked whole before DynamoDB sees it: exactly
the key attributes of the table and index the Query reads, each a non-empty string no longer
than a key attribute may be, and the partition one of the caller's. Anything else (a type
changed, an attribute added or missing) is 400, never a failed Query.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from parley.errors import BadRequest
from parley.state.errors import dynamodb_errors, error_code
from parley.text import is_valid_text

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["decode_cursor", "encode_cursor", "query_all", "query_from", "query_items"]

# DynamoDB's limit for a sort key attribute (a partition key may have 2048 bytes; none of
# Parley's comes near either).
_MAX_KEY_VALUE_BYTES = 1024


def _invalid() -> BadRequest:
    return BadRequest("The page cursor is not valid.")


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str | None,
    *,
    attributes: Collection[str],
    partition: tuple[str, str | Collection[str]],
) -> dict[str, Any] | None:
    """The start key for the next page. ``attributes`` are the key attributes of the table
    and of the index the Query reads (a LastEvaluatedKey holds exactly those); ``partition``
    is the (attribute, value) the Query is fixed to, or the values of the partitions a read
    goes through (several days, say). A cursor from any other partition (another user's
    list), or of any other shape, is refused."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _invalid() from exc
    if not isinstance(key, dict) or set(key) != set(attributes):
        raise _invalid()
    if not all(_is_key_string(value) for value in key.values()):
        raise _invalid()
    attribute, values = partition
    allowed = {values} if isinstance(values, str) else set(values)
    if key[attribute]["S"] not in allowed:
        raise _invalid()
    start: dict[str, Any] = key
    return start


def _is_key_string(value: object) -> bool:
    """``{"S": "<text>"}``: every key attribute Parley pages by is a string."""
    if not isinstance(value, dict) or set(value) != {"S"}:
        return False
    text = value["S"]
    return (
        isinstance(text, str)
        and is_valid_text(text)
        and 0 < len(text.encode()) <= _MAX_KEY_VALUE_BYTES
    )


def query_from(
    client: DynamoDBClient, query: dict[str, Any], start: dict[str, Any] | None
) -> dict[str, Any]:
    """One page of ``query`` from ``start``, a key ``decode_cursor`` gave. DynamoDB refusing
    the start key is the cursor's fault (400), whatever slipped past the checks."""
    if start:
        query = {**query, "ExclusiveStartKey": start}
    with dynamodb_errors(query["TableName"]):
        try:
            response: dict[str, Any] = dict(client.query(**query))
        except ClientError as exc:
            if start and error_code(exc) == "ValidationException":
                raise _invalid() from exc
            raise
    return response


def query_items(
    client: DynamoDBClient, query: dict[str, Any], start: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Every item ``query`` (Query's parameters, ``TableName`` included) finds from ``start``
    (a key ``decode_cursor`` gave, or one of these items to resume after), page after page,
    in DynamoDB's attribute-value form. Lazy: a caller that stops early reads no further
    page."""
    page = query_from(client, query, start)
    while True:
        yield from page.get("Items", [])
        last_key = page.get("LastEvaluatedKey")
        if not last_key:
            return
        with dynamodb_errors(query["TableName"]):
            page = dict(client.query(**{**query, "ExclusiveStartKey": last_key}))


def query_all(client: DynamoDBClient, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``query_items`` from the first, as plain values."""
    # Imported here: it loads boto3, which modules that only import this one should not.
    from parley.state.items import from_item

    return (from_item(item) for item in query_items(client, query))
