"""Any ledger for async code."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import anyio.to_thread

if TYPE_CHECKING:
    from parley.budget.ledger.base import LedgerStore
    from parley.budget.reservations import Reservation, Settlement

__all__ = ["AsyncLedger"]


class AsyncLedger:
    """A ledger for async code: each call runs in a worker thread (boto3 blocks). A call
    already started finishes even if the awaiting task is cancelled (anyio waits for it)."""

    def __init__(self, ledger: LedgerStore) -> None:
        self._ledger = ledger

    async def balance(self, org_id: str) -> int | None:
        return await anyio.to_thread.run_sync(self._ledger.balance, org_id)

    async def grant(self, org_id: str, tokens: int) -> int:
        return await anyio.to_thread.run_sync(self._ledger.grant, org_id, tokens)

    async def spent_today(self, org_id: str, user_id: str) -> float:
        return await anyio.to_thread.run_sync(self._ledger.spent_today, org_id, user_id)

    async def reservation(self, org_id: str, request_id: str) -> Reservation | None:
        return await anyio.to_thread.run_sync(self._ledger.reservation, org_id, request_id)

    async def reserve(
        self,
        *,
        org_id: str,
        user_id: str,
        request_id: str,
        tokens: int,
        cost_usd: float,
        daily_cap_usd: float | None,
        metered: bool,
    ) -> Reservation:
        reserve = partial(
            self._ledger.reserve,
            org_id=org_id,
            user_id=user_id,
            request_id=request_id,
            tokens=tokens,
            cost_usd=cost_usd,
            daily_cap_usd=daily_cap_usd,
            metered=metered,
        )
        return await anyio.to_thread.run_sync(reserve)

    async def settle(self, held: Reservation, *, tokens: int, cost_usd: float) -> Settlement:
        settle = partial(self._ledger.settle, held, tokens=tokens, cost_usd=cost_usd)
        return await anyio.to_thread.run_sync(settle)
