"""Driving a ledger in tests: a reservation with the tests' usual defaults, and calls released
in threads at the same moment, as Lambda environments would make them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from parley.errors import ParleyError

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.budget.ledger import LedgerStore
    from parley.budget.reservations import Reservation

ORG = "acme"
USER = "alice"


def reserve(
    ledger: LedgerStore,
    request_id: str,
    *,
    tokens: int = 1_000,
    cost_usd: float = 0.01,
    cap: float | None = None,
    metered: bool = True,
    user: str = USER,
) -> Reservation:
    return ledger.reserve(
        org_id=ORG,
        user_id=user,
        request_id=request_id,
        tokens=tokens,
        cost_usd=cost_usd,
        daily_cap_usd=cap,
        metered=metered,
    )


def run_together[T](calls: list[Callable[[], T]]) -> list[T | ParleyError]:
    """Run the calls in threads released at the same moment; results (or the Parley errors
    they raised) in order. Any other exception fails the test."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | ParleyError:
        start.wait()
        try:
            return call()
        except ParleyError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
