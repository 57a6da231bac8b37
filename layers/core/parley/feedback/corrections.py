"""Human corrections of the bot's replies (FeedbackTable), and their approval.

A correction is made ``pending`` and listed under its status in the index; approving it is one
conditional UpdateItem (still pending, in the caller's org: the key is the org's partition, so
another org's id is simply missing) that records the reviewer and the quality score and moves
the index entry to ``approved``. Approved corrections are the export's first source.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from parley.clock import iso_from_epoch
from parley.errors import Conflict, NotFound
from parley.feedback.keys import INDEX, correction_pk, corrections_key, order_key
from parley.ids import new_id
from parley.state.client import dynamodb_client
from parley.state.errors import dynamodb_errors, error_code
from parley.state.items import from_item, to_item
from parley.state.paging import decode_cursor, encode_cursor, query_all, query_from

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.auth.identity import Identity
    from parley.feedback.keys import CorrectionStatus
    from parley.feedback.schemas import CorrectionRequest

__all__ = ["CorrectionRepository", "public_correction"]

_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk", "type")
# The key of a correction in the status index: the table's key and the index's.
_PAGE_KEY = ("pk", "sk", "gsi1pk", "gsi1sk")


def public_correction(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in _KEYS}


class CorrectionRepository:
    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client = client or dynamodb_client()
        self._clock = clock

    def create(self, author: Identity, body: CorrectionRequest) -> dict[str, Any]:
        created_at = iso_from_epoch(self._clock())
        correction_id = new_id()
        item: dict[str, Any] = {
            "pk": correction_pk(author.org_id),
            "sk": correction_id,
            "gsi1pk": corrections_key(author.org_id, "pending"),
            "gsi1sk": order_key(created_at, correction_id),
            "type": "correction",
            "correction_id": correction_id,
            "org_id": author.org_id,
            "status": "pending",
            "created_by": author.user_id,
            "created_at": created_at,
            **body.model_dump(exclude_none=True),
        }
        with dynamodb_errors(self._table):
            self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        return public_correction(item)

    def approve(self, approver: Identity, correction_id: str, *, quality: int) -> dict[str, Any]:
        """The approved correction. NotFound when the org has no such correction, Conflict
        when it is already approved."""
        key = to_item({"pk": correction_pk(approver.org_id), "sk": correction_id})
        with dynamodb_errors(self._table):
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET #status = :approved, gsi1pk = :index, "
                    "approved_by = :by, approved_at = :at, quality = :quality",
                    ConditionExpression="attribute_exists(pk) AND #status = :pending",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=to_item(
                        {
                            ":approved": "approved",
                            ":pending": "pending",
                            ":index": corrections_key(approver.org_id, "approved"),
                            ":by": approver.user_id,
                            ":at": iso_from_epoch(self._clock()),
                            ":quality": quality,
                        }
                    ),
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                exists = self._client.get_item(
                    TableName=self._table, Key=key, ConsistentRead=True
                ).get("Item")
                if not exists:
                    raise NotFound("No such correction.") from exc
                raise Conflict("This correction is already approved.") from exc
        return public_correction(from_item(dict(response["Attributes"])))

    def page(
        self,
        org_id: str,
        status: CorrectionStatus,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The org's corrections with ``status``, newest first, and the next page's cursor."""
        partition = corrections_key(org_id, status)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": "gsi1pk = :status",
            "ExpressionAttributeValues": to_item({":status": partition}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, attributes=_PAGE_KEY, partition=("gsi1pk", partition))
        response = query_from(self._client, query, start)
        items = [public_correction(from_item(item)) for item in response.get("Items", [])]
        return items, encode_cursor(response.get("LastEvaluatedKey"))

    def approved(self, org_id: str) -> Iterator[dict[str, Any]]:
        """Every approved correction of the org, oldest first, paging through the index."""
        items = query_all(
            self._client,
            {
                "TableName": self._table,
                "IndexName": INDEX,
                "KeyConditionExpression": "gsi1pk = :status",
                "ExpressionAttributeValues": to_item(
                    {":status": corrections_key(org_id, "approved")}
                ),
            },
        )
        return (public_correction(item) for item in items)
