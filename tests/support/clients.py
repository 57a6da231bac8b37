"""DynamoDB clients around the real one, for tests that put a fault or a race between Parley
and the database: a subclass overrides the calls it changes, every other call goes through."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["ClientProxy", "ItemReadsMeet", "TransactionsCancelled"]


class ClientProxy:
    def __init__(self, client: DynamoDBClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class ItemReadsMeet(ClientProxy):
    """Reads of items whose sort key is ``sk`` wait for each other (``parties`` of them):
    the writers behind them all read the same version before any of them writes."""

    def __init__(self, client: DynamoDBClient, parties: int, *, sk: str) -> None:
        super().__init__(client)
        self._barrier = threading.Barrier(parties, timeout=10)
        self._sk = sk

    def get_item(self, **request: Any) -> Any:
        found = self._client.get_item(**request)
        if request["Key"]["sk"] == {"S": self._sk}:
            self._barrier.wait()
        return found


class TransactionsCancelled(ClientProxy):
    """A client whose transactions DynamoDB cancels, for ``reason`` on the conversation's item
    (``times`` times, then they go through)."""

    def __init__(self, client: DynamoDBClient, reason: str, times: int = 1_000) -> None:
        super().__init__(client)
        self.reason, self.left, self.calls = reason, times, 0

    def transact_write_items(self, **request: Any) -> Any:
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            reasons = [{"Code": self.reason}] + [{"Code": "None"}] * (
                len(request["TransactItems"]) - 1
            )
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            }
            raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]
        return self._client.transact_write_items(**request)
