"""What the aggregation job reads for one hour and one org shard: the usage events (through
the usage store's ``for_hour``) and the feedback records, both by org and then time.

Feedback is read from the FeedbackTable's hour index (``parley.state.hour_index``) here,
beside the usage store, because the job is analytics' and the feedback capability sits above
it; what a record holds is the feedback table's (``parley.feedback.repository``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from parley.state.hour_index import hour_query
from parley.state.paging import query_all

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["FeedbackHours", "FeedbackHoursTable"]


class FeedbackHours(Protocol):
    def for_hour(
        self, hour: str, shard: int, *, after_org: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The feedback records given in ``hour`` by orgs of ``shard``, by org then time."""
        ...


class FeedbackHoursTable:
    """Feedback records through the FeedbackTable's hour index."""

    def __init__(self, table_name: str, *, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def for_hour(
        self, hour: str, shard: int, *, after_org: str | None = None
    ) -> Iterator[dict[str, Any]]:
        return query_all(self._client, hour_query(self._table, hour, shard, after_org=after_org))
