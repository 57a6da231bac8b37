"""What the request path stores, each behind its interface: in DynamoDB, as every function
keeps it, or all in memory, for tests that are not about DynamoDB (one process, nothing
outlives it)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.analytics.store import MemoryRollupStore, RollupRepository
from parley.budget.ledger import Ledger, MemoryLedger
from parley.state.client import dynamodb_client
from parley.state.conversations import ConversationRepository, MemoryConversationStore
from parley.state.usage import MemoryUsageStore, UsageRepository
from parley.state.versioned import MemoryVersionedItems, VersionedTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.analytics.store import RollupStore
    from parley.budget.ledger import LedgerStore
    from parley.config import Settings
    from parley.state.conversations import ConversationStore
    from parley.state.usage import UsageStore
    from parley.state.versioned import VersionedItems

__all__ = ["Stores", "dynamodb_stores", "memory_stores"]


@dataclass(frozen=True)
class Stores:
    conversations: ConversationStore
    # Org settings and user preferences: versioned documents (AccountsTable's, deployed).
    documents: VersionedItems
    ledger: LedgerStore
    usage: UsageStore
    # Rollups and the recommender's routing advice, which learned routing reads
    # (AnalyticsTable's, deployed).
    rollups: RollupStore


def dynamodb_stores(settings: Settings, client: DynamoDBClient | None = None) -> Stores:
    """The settings' tables, through ``client`` (default: the process's client)."""
    client = client or dynamodb_client()
    return Stores(
        conversations=ConversationRepository(settings.conversations_table, client=client),
        documents=VersionedTable(settings.accounts_table, client=client),
        ledger=Ledger(settings.accounts_table, client),
        usage=UsageRepository(
            settings.usage_table, retention_days=settings.usage_retention_days, client=client
        ),
        rollups=RollupRepository(settings.analytics_table, client=client),
    )


def memory_stores(settings: Settings, *, clock: Callable[[], float] = time.time) -> Stores:
    """Empty stores in this process; ``clock`` decides what has expired."""
    return Stores(
        conversations=MemoryConversationStore(),
        documents=MemoryVersionedItems(),
        ledger=MemoryLedger(clock),
        usage=MemoryUsageStore(retention_days=settings.usage_retention_days, clock=clock),
        rollups=MemoryRollupStore(clock=clock),
    )
