"""What the health API works with, installed by the app that serves it (parley.apps)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.operations.health.store import HealthStore
    from parley.providers.catalog import Catalog
    from parley.routing.breaker import CircuitBreaker

__all__ = ["Health", "HealthCollaborators"]


@dataclass(frozen=True)
class HealthCollaborators:
    store: HealthStore
    # The deployment's circuits, on the hot store the chat path trips them in; with no copy
    # of a state kept, so a reset is seen at once.
    breaker: CircuitBreaker
    catalog: Catalog
    clock: Callable[[], float] = field(default=time.time)


Health = Annotated[HealthCollaborators, collaborator(HealthCollaborators)]
