"""Where health records are kept: one interface (``HealthStore``), in the AnalyticsTable
(``HealthRepository``) or in memory (``MemoryHealthStore``)."""

from parley.operations.health.store.base import HEALTH_RETENTION_DAYS, HealthStore
from parley.operations.health.store.dynamodb import HealthRepository
from parley.operations.health.store.memory import MemoryHealthStore

__all__ = ["HEALTH_RETENTION_DAYS", "HealthRepository", "HealthStore", "MemoryHealthStore"]
