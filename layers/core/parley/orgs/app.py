"""Putting the org collaborators on an app, built once per process (the router reads them from
``app.state``; see ``parley.orgs.api``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.budget.ledger import AsyncLedger, Ledger
from parley.orgs.cache import OrgSettingsCache
from parley.orgs.repository import OrgSettingsRepository
from parley.providers.catalog import load_catalog

if TYPE_CHECKING:
    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.providers.catalog import Catalog

__all__ = ["DEFAULT_CACHE_SECONDS", "install_org_state"]

DEFAULT_CACHE_SECONDS = 30.0


def install_org_state(
    app: FastAPI,
    *,
    settings: Settings,
    client: DynamoDBClient | None = None,
    catalog: Catalog | None = None,
    ledger: AsyncLedger | None = None,
    cache_seconds: float = DEFAULT_CACHE_SECONDS,
) -> OrgSettingsCache:
    """Set ``app.state.org_settings`` (the cache the request path reads),
    ``org_settings_repository``, ``ledger`` (kept when the app already has one) and
    ``model_catalog`` (the names settings may use; the chat service's, ideally, so both agree).
    Returns the cache."""
    repository = OrgSettingsRepository(settings.accounts_table, client=client)
    cache = OrgSettingsCache(repository, ttl_seconds=cache_seconds)
    app.state.org_settings = cache
    app.state.org_settings_repository = repository
    if ledger is None:
        ledger = getattr(app.state, "ledger", None) or AsyncLedger(
            Ledger(settings.accounts_table, client)
        )
    app.state.ledger = ledger
    app.state.model_catalog = catalog or load_catalog(settings.models_file)
    return cache
