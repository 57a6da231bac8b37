"""What an operator does to provider health from the command line (``parley health`` and
``parley health reset MODEL``), with the deployment's AWS credentials and tables, never over
HTTP. Each returns the JSON document the CLI prints (or formats as a table).

A reset here is audited as ``via: cli`` by the operator's name: ``PARLEY_OPERATOR`` when set,
else the OS user running the command, with no org (no token is involved).
"""

from __future__ import annotations

import asyncio
import getpass
from typing import TYPE_CHECKING, Any

from parley.errors import ConfigurationError, NotFound
from parley.hot.factory import create_hot_store, hot_backend_name
from parley.operations.health.hours import checked_hour
from parley.operations.health.reset import reset_model
from parley.operations.health.store import HealthRepository
from parley.operations.health.view import health_document
from parley.providers.catalog import load_catalog
from parley.routing.breaker import CircuitBreaker, policy_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.hot.base import HotStore

__all__ = ["operator_name", "reset", "show"]


def show(
    settings: Settings, *, hour: str | None = None, client: DynamoDBClient | None = None
) -> dict[str, Any]:
    """The hour's records (default: the newest), as ``GET /v1/health/providers`` gives them."""
    store = HealthRepository(settings.analytics_table, client=client)
    wanted = checked_hour(hour) if hour is not None else store.latest_hour()
    found = store.hour(wanted) if wanted is not None else None
    if hour is not None and found is None:
        raise NotFound(f"No provider health for {wanted}: the job has not reported it.")
    return health_document(found, store.resets())


def reset(
    settings: Settings,
    model: str,
    *,
    client: DynamoDBClient | None = None,
    hot: HotStore | None = None,
) -> dict[str, Any]:
    """Reset ``model``'s health on the deployment's hot store; the audit entry."""
    if hot is None and hot_backend_name(settings) == "memory":
        # Memory is one process's: a reset of it would close nobody's circuit.
        raise ConfigurationError(
            "parley health reset acts on the deployment's hot store: set PARLEY_HOT_BACKEND "
            "to dynamodb (with PARLEY_HOT_TABLE) or upstash."
        )
    store = HealthRepository(settings.analytics_table, client=client)
    catalog = load_catalog(settings.models_file)

    async def run() -> dict[str, Any]:
        circuits = hot or create_hot_store(settings)
        try:
            entry = await reset_model(
                model,
                catalog=catalog,
                breaker=CircuitBreaker(circuits, policy_of(settings)),
                store=store,
                user_id=operator_name(settings),
                org_id=None,
                via="cli",
            )
        finally:
            if hot is None:
                await circuits.close()
        return entry.document()

    return asyncio.run(run())


def operator_name(settings: Settings) -> str:
    """Who the audit says reset: ``PARLEY_OPERATOR``, else the OS user."""
    if settings.operator:
        return settings.operator
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "operator:cli"
