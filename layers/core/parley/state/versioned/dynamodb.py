"""Versioned items in DynamoDB: one item per document, read consistently, written whole with a
condition on the version read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors, error_code
from parley.state.versioned.base import VersionedItem, VersionedItems

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["VersionedTable"]


class VersionedTable(VersionedItems):
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
