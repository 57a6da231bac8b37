"""The request path's stores for contract tests: each in DynamoDB (the session's moto, this
test's tables) and in memory, for a fixture parametrised over ``BACKENDS``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from parley.analytics.store import MemoryRollupStore, RollupRepository
from parley.budget.ledger import Ledger, MemoryLedger
from parley.state.conversations import ConversationRepository, MemoryConversationStore
from parley.state.usage import MemoryUsageStore, UsageRepository
from parley.state.versioned import MemoryVersionedItems, VersionedTable

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from parley.analytics.store import RollupStore
    from parley.budget.ledger import LedgerStore
    from parley.config import Settings
    from parley.state.conversations import ConversationStore
    from parley.state.usage import UsageStore
    from parley.state.versioned import VersionedItems

BACKENDS = ["dynamodb", "memory"]


def conversation_store(request: pytest.FixtureRequest, backend: str) -> ConversationStore:
    if backend == "memory":
        return MemoryConversationStore()
    settings: Settings = request.getfixturevalue("settings")
    return ConversationRepository(
        settings.conversations_table, client=request.getfixturevalue("dynamodb")
    )


def versioned_items(request: pytest.FixtureRequest, backend: str) -> VersionedItems:
    if backend == "memory":
        return MemoryVersionedItems()
    settings: Settings = request.getfixturevalue("settings")
    return VersionedTable(settings.accounts_table, client=request.getfixturevalue("dynamodb"))


def ledger_store(
    request: pytest.FixtureRequest, backend: str, clock: Callable[[], float]
) -> LedgerStore:
    if backend == "memory":
        return MemoryLedger(clock)
    settings: Settings = request.getfixturevalue("settings")
    return Ledger(settings.accounts_table, request.getfixturevalue("dynamodb"), clock)


def usage_store(
    request: pytest.FixtureRequest,
    backend: str,
    *,
    retention_days: int = 90,
    clock: Callable[[], float] = time.time,
) -> UsageStore:
    if backend == "memory":
        return MemoryUsageStore(retention_days=retention_days, clock=clock)
    settings: Settings = request.getfixturevalue("settings")
    return UsageRepository(
        settings.usage_table,
        retention_days=retention_days,
        client=request.getfixturevalue("dynamodb"),
        clock=clock,
    )


def rollup_store(
    request: pytest.FixtureRequest, backend: str, *, clock: Callable[[], float] = time.time
) -> RollupStore:
    if backend == "memory":
        return MemoryRollupStore(clock=clock)
    settings: Settings = request.getfixturevalue("settings")
    return RollupRepository(
        settings.analytics_table, client=request.getfixturevalue("dynamodb"), clock=clock
    )
