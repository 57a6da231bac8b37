"""Provider health's routes (``/v1/health``), served by the analytics function and the
development server: the health records in the analytics table, and the circuits on the hot
store the chat path trips them in (so a reset closes the circuit chat reads)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from parley.apps.parts import Parts
from parley.hot.factory import create_hot_store
from parley.operations.health.collaborators import HealthCollaborators
from parley.operations.health.health_api import router as health_router
from parley.operations.health.store import HealthRepository
from parley.providers.catalog import load_catalog
from parley.routing.breaker import CircuitBreaker, policy_of
from parley.state.client import dynamodb_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.hot.base import HotStore
    from parley.operations.health.store import HealthStore
    from parley.providers.catalog import Catalog

__all__ = ["health_parts"]


def health_parts(
    settings: Settings,
    client: DynamoDBClient | None = None,
    *,
    store: HealthStore | None = None,
    hot: HotStore | None = None,
    catalog: Catalog | None = None,
    clock: Callable[[], float] = time.time,
) -> Parts:
    """``store``: where health records are (default: the analytics table, through
    ``client``); ``hot``: the hot store to share (the development server's chat trips its
    circuits in it; default: the settings', closed with the app)."""
    if store is None:
        store = HealthRepository(
            settings.analytics_table, client=client or dynamodb_client(), clock=clock
        )
    circuits = hot or create_hot_store(settings)
    health = HealthCollaborators(
        store=store,
        breaker=CircuitBreaker(circuits, policy_of(settings), clock=clock),
        catalog=catalog or load_catalog(settings.models_file),
        clock=clock,
    )
    return Parts(
        routers=(health_router,),
        collaborators=(health,),
        closers=() if hot is not None else (circuits.close,),
    )
