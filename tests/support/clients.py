"""DynamoDB clients around the real one, for tests that put a fault or a race between Parley
and the database: a subclass overrides the calls it changes, every other call goes through."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["ClientProxy", "ItemReadsMeet"]


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
