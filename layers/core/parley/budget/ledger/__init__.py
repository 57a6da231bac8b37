"""Token balances, reservations and daily spend caps behind one small interface
(``LedgerStore``), kept in DynamoDB (``Ledger``) or in memory (``MemoryLedger``); async code
uses any of them through ``AsyncLedger``."""

from parley.budget.ledger.asynchronous import AsyncLedger
from parley.budget.ledger.base import LedgerStore
from parley.budget.ledger.dynamodb import Ledger
from parley.budget.ledger.memory import MemoryLedger

__all__ = ["AsyncLedger", "Ledger", "LedgerStore", "MemoryLedger"]
