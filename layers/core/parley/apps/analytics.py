"""The analytics function's app: ``/v1/analytics`` (figures, dashboards, the recommender),
read from the rollups the aggregate-usage job keeps, and ``/v1/alerts`` (what the regression
alerts published), behind Mangum."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from parley.analytics.analytics_api import router as analytics_router
from parley.analytics.collaborators import AnalyticsCollaborators
from parley.analytics.dashboard_api import router as dashboard_router
from parley.analytics.store import RollupRepository
from parley.apps.health import health_parts
from parley.apps.orgs import org_settings_cache
from parley.apps.parts import Parts, build_app
from parley.config import get_settings
from parley.operations.alerts.alerts_api import router as alerts_router
from parley.operations.alerts.collaborators import AlertsCollaborators
from parley.operations.alerts.store import AlertRepository
from parley.providers.catalog import load_catalog
from parley.providers.keys import ApiKeys
from parley.routing.chains import Chains, org_chains
from parley.secrets import SecretStore
from parley.state.client import dynamodb_client
from parley.state.versioned import VersionedTable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.analytics.store import RollupStore
    from parley.auth.verifier import TokenVerifier
    from parley.config import Settings
    from parley.hot.base import HotStore
    from parley.operations.alerts.store import AlertStore
    from parley.operations.health.store import HealthStore
    from parley.orgs.cache import OrgSettingsCache
    from parley.orgs.settings import OrgSettings
    from parley.providers.catalog import Catalog, ModelSpec
    from parley.state.versioned import VersionedItems

__all__ = ["analytics_parts", "create_analytics_app"]


def create_analytics_app(
    settings: Settings | None = None,
    *,
    client: DynamoDBClient | None = None,
    rollups: RollupStore | None = None,
    documents: VersionedItems | None = None,
    alerts: AlertStore | None = None,
    health: HealthStore | None = None,
    hot: HotStore | None = None,
    verifier: TokenVerifier | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    settings = settings or get_settings()
    parts = analytics_parts(
        settings,
        client,
        rollups=rollups,
        documents=documents,
        alerts=alerts,
        environ=environ,
        clock=clock,
    ) + health_parts(settings, client, store=health, hot=hot, clock=clock)
    return build_app(parts, title="Parley analytics", settings=settings, verifier=verifier)


def analytics_parts(
    settings: Settings,
    client: DynamoDBClient | None = None,
    *,
    rollups: RollupStore | None = None,
    documents: VersionedItems | None = None,
    alerts: AlertStore | None = None,
    org_settings: OrgSettingsCache | None = None,
    catalog: Catalog | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> Parts:
    """The analytics routes and collaborators. ``rollups``: where the rollups are (default:
    the settings' analytics table, through ``client``); ``documents``: where org settings
    are kept (default: the accounts table); ``alerts``: where the regression alerts' state
    and history are (default: the analytics table); ``org_settings``: a cache of them to share (the
    development server's other routes read the same one); ``environ``: where provider keys
    are looked for before the secret (default: the process's environment)."""
    if rollups is None or alerts is None or (documents is None and org_settings is None):
        client = client or dynamodb_client()
    if rollups is None:
        rollups = RollupRepository(settings.analytics_table, client=client, clock=clock)
    if alerts is None:
        alerts = AlertRepository(settings.analytics_table, client=client, clock=clock)
    if org_settings is None:
        documents = documents or VersionedTable(settings.accounts_table, client=client)
        org_settings = org_settings_cache(settings, documents)
    catalog = catalog or load_catalog(settings.models_file)
    secrets = SecretStore(settings.secrets_arn) if settings.secrets_arn else None
    keys = ApiKeys(secrets, environ)
    analytics = AnalyticsCollaborators(
        rollups=rollups,
        catalog=catalog,
        org_settings=org_settings,
        chain=_route_chain(catalog, keys.key_for, settings.default_model),
        configured_chain=_route_chain(catalog, lambda _spec: "", settings.default_model),
        clock=clock,
    )
    return Parts(
        routers=(analytics_router, dashboard_router, alerts_router),
        collaborators=(analytics, AlertsCollaborators(store=alerts, clock=clock)),
    )


def _route_chain(
    catalog: Catalog, key_for: Callable[[ModelSpec], str | None], preferred: str | None
) -> Callable[[OrgSettings, str], list[ModelSpec]]:
    """The chain a route gives an org, as the chat path builds it (``parley.routing``): the
    models ``key_for`` has a key for, from the org's chain, else the catalog's, else derived
    from the tiers and prices."""

    def chain(org: OrgSettings, route: str) -> list[ModelSpec]:
        chains = Chains(
            catalog,
            lambda spec: key_for(spec) is not None,
            org_chains(org),
            preferred=preferred,
        )
        return chains.for_route(route)

    return chain
