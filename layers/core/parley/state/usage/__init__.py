"""Per-call usage events behind one small interface (``UsageStore``), kept in DynamoDB
(``UsageRepository``) or in memory (``MemoryUsageStore``)."""

from parley.state.usage.base import Endpoint, UsageEvent, UsageStore
from parley.state.usage.dynamodb import UsageRepository
from parley.state.usage.memory import MemoryUsageStore

__all__ = ["Endpoint", "MemoryUsageStore", "UsageEvent", "UsageRepository", "UsageStore"]
