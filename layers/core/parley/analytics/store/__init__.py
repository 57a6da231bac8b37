"""Where rollups are kept: one interface (``RollupStore``), in DynamoDB (``RollupRepository``)
or in memory (``MemoryRollupStore``)."""

from parley.analytics.store.base import ROLLUP_RETENTION_DAYS, RollupStore, SpanRollups
from parley.analytics.store.dynamodb import RollupRepository
from parley.analytics.store.memory import MemoryRollupStore

__all__ = [
    "ROLLUP_RETENTION_DAYS",
    "MemoryRollupStore",
    "RollupRepository",
    "RollupStore",
    "SpanRollups",
]
