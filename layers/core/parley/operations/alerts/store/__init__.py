"""Where alerts' state and history are kept: ``AlertStore``, in DynamoDB (``AlertRepository``)
or in memory (``MemoryAlertStore``)."""

from parley.operations.alerts.store.base import (
    HISTORY_DAYS,
    AlertRecord,
    AlertState,
    AlertStore,
    Status,
)
from parley.operations.alerts.store.dynamodb import AlertRepository
from parley.operations.alerts.store.memory import MemoryAlertStore

__all__ = [
    "HISTORY_DAYS",
    "AlertRecord",
    "AlertRepository",
    "AlertState",
    "AlertStore",
    "MemoryAlertStore",
    "Status",
]
