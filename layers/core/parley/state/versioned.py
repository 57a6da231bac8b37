"""Versioned documents: one DynamoDB item per document, written whole, conditionally on the
version it was read at (optimistic concurrency).

Org settings and user preferences are both kept this way: every write puts the item at
``read_version + 1`` on condition that it is still at ``read_version`` (or, for version 0, that
it does not exist yet), so two writers that read the same version cannot both win. The version
is what the HTTP APIs send as the ETag. A writer that loses the race re-reads and tries again
when it did not name a version (``save_with_retries``); one that named a version gets a failed
precondition (412), because what it changed was based on a document that is gone.

Versions only go up: resetting a document writes an empty one at the next version rather than
deleting the item, so an old ETag can never match a later document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from parley.errors import ConfigurationError, Conflict, PreconditionFailed, ValidationFailed
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors, error_code

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "HasVersion",
    "VersionedItem",
    "VersionedTable",
    "dump_document",
    "load_document",
    "save_with_retries",
]


@dataclass(frozen=True)
class VersionedItem:
    """A stored item's attributes (key included) and version; version 0 and no attributes
    when nothing was ever written."""

    attributes: dict[str, Any]
    version: int

    @property
    def exists(self) -> bool:
        return self.version > 0


class VersionedTable:
    """Consistent reads and conditional whole-item writes of versioned items in one table."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def read(self, key: dict[str, str]) -> VersionedItem:
        """One consistent GetItem, so a write is seen at once by the next read anywhere."""
        # Imported here: boto3's serializer costs cold start for modules that never write.
        from parley.state.items import from_item, to_item

        with dynamodb_errors(self.table_name):
            item = self._client.get_item(
                TableName=self.table_name, Key=to_item(key), ConsistentRead=True
            ).get("Item")
        if item is None:
            return VersionedItem(attributes={}, version=0)
        values = from_item(dict(item))
        return VersionedItem(attributes=values, version=int(values.get("version", 0)))

    def put(self, key: dict[str, str], read_version: int, attributes: dict[str, Any]) -> int | None:
        """Write the item as ``read_version + 1`` if it is still at ``read_version``. Returns
        the new version, or None when another writer got there first."""
        from parley.state.items import to_item

        version = read_version + 1
        item = {**attributes, **key, "version": version}
        if read_version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#version = :read",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": to_item({":read": read_version}),
            }
        with dynamodb_errors(self.table_name):
            try:
                self._client.put_item(TableName=self.table_name, Item=to_item(item), **condition)
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return None
                raise
        return version


class HasVersion(Protocol):
    @property
    def version(self) -> int: ...


def save_with_retries[R: HasVersion, T](
    read: Callable[[], R],
    change: Callable[[R], T | None],
    *,
    attempts: int,
    expected_version: int | None,
    stale: Callable[[int], PreconditionFailed],
    gave_up: str,
) -> T:
    """Read the document, check the version the caller named (``stale(expected)`` when it is
    no longer current), and ``change`` it: a conditional put, None when the put lost a race.
    A caller that named the version it read cannot be retried on its behalf (the document it
    based its change on is gone), so a lost race is ``stale`` too; otherwise the document is
    read again. Conflict (409) after ``attempts`` lost races in a row."""
    for _ in range(attempts):
        current = read()
        if expected_version is not None and current.version != expected_version:
            raise stale(expected_version)
        result = change(current)
        if result is not None:
            return result
        if expected_version is not None:
            raise stale(expected_version)
    raise Conflict(gave_up)


def load_document(text: Any, what: str) -> dict[str, Any]:
    """A stored JSON-object attribute (absent: empty). ConfigurationError when it is not one:
    only a hand edit of the table can cause that, and the operator must hear of it."""
    if text is None or text == "":
        return {}
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ConfigurationError(f"The stored {what} cannot be read: it is not a JSON object.")
    return document


def dump_document(document: dict[str, Any], *, max_chars: int, what: str) -> str:
    """Canonical JSON for storing (sorted keys, no spaces, no NaN); ValidationFailed (422)
    when it is larger than ``max_chars``, far below DynamoDB's 400 KB item limit."""
    text = json.dumps(document, separators=(",", ":"), sort_keys=True, allow_nan=False)
    if len(text) > max_chars:
        raise ValidationFailed(f"The {what} is larger than {max_chars} characters.")
    return text
