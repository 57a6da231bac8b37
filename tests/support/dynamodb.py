"""moto's DynamoDB made atomic per request, as the service is, for concurrency tests."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest


def serialise_moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each write, and each transaction, atomically. moto's threaded server
    does not: it checks a condition and writes without a lock, and rolls a failed transaction
    back by restoring a snapshot of the whole table, which can undo a concurrent commit. One
    lock around moto's DynamoDB handler gives the emulator the service's atomicity, so that
    racing threads test the code's conditions rather than the emulator's races."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    handle = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return handle(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)
