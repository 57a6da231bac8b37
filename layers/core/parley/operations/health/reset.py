"""An operator's reset of a model's health: its circuit closed and its window forgotten, the
job's next figures counting from now, and an audit entry saying who did it and when. Shared
by ``POST /v1/health/providers/{model}/reset`` and ``parley health reset``.

The audit entry (with the reset mark, in one write) is stored before the circuit is touched:
no reset goes unaudited. When closing the circuit then fails, the error says so and the entry
stays; the operator's retry closes it and adds its own entry.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

import anyio.to_thread

from parley.errors import NotFound
from parley.ids import new_id
from parley.operations.health.breakers import breaker_snapshots
from parley.operations.health.records import AuditEntry
from parley.routing.failover import breaker_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.operations.health.store import HealthStore
    from parley.providers.catalog import Catalog
    from parley.routing.breaker import CircuitBreaker

__all__ = ["reset_model"]


async def reset_model(
    model: str,
    *,
    catalog: Catalog,
    breaker: CircuitBreaker,
    store: HealthStore,
    user_id: str,
    org_id: str | None,
    via: Literal["api", "cli"],
    clock: Callable[[], float] = time.time,
) -> AuditEntry:
    """Reset catalog model ``model``; NotFound for a name the catalog does not have."""
    spec = catalog.get(model)
    if spec is None:
        raise NotFound(f"No model {model!r} in the catalog.")
    key = breaker_key(spec)
    at = clock()
    hour = time.strftime("%Y-%m-%dT%H", time.gmtime(at))
    before = (await breaker_snapshots(breaker, [key], hour))[key]
    entry = AuditEntry(
        audit_id=new_id(),  # monotonic in a process: two resets of one ms keep their order
        at=at,
        action="reset",
        model=spec.name,
        provider=spec.provider,
        user_id=user_id,
        org_id=org_id,
        via=via,
        # None when the hot store could not be read; the reset below then fails and says so.
        breaker_before=before or {"status": None},
    )
    await anyio.to_thread.run_sync(store.record_reset, entry)
    await breaker.reset(key)
    return entry
