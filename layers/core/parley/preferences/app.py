"""Building the preferences function's app, and putting its collaborators on any app (the dev
app serves every function's routes from one process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.config import get_settings
from parley.http.app import create_app
from parley.orgs.cache import OrgSettingsCache
from parley.orgs.repository import OrgSettingsRepository
from parley.preferences.api import router
from parley.preferences.repository import PreferencesRepository

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.auth.verifier import TokenVerifier
    from parley.config import Settings

__all__ = ["create_preferences_app", "install_preferences_state", "preferences_routers"]


def preferences_routers() -> list[APIRouter]:
    return [router]


def install_preferences_state(
    app: FastAPI,
    *,
    settings: Settings,
    client: DynamoDBClient | None = None,
    org_cache_seconds: float | None = None,
) -> PreferencesRepository:
    """Set ``app.state.preferences_repository``, and ``app.state.org_settings`` (the org
    settings cache that gives each org's panels) unless the app has one already (the chat and
    dev apps do: one cache then serves both). Returns the repository."""
    repository = PreferencesRepository(settings.accounts_table, client=client)
    app.state.preferences_repository = repository
    if getattr(app.state, "org_settings", None) is None:
        seconds = (
            settings.org_settings_cache_seconds if org_cache_seconds is None else org_cache_seconds
        )
        app.state.org_settings = OrgSettingsCache(
            OrgSettingsRepository(settings.accounts_table, client=client), ttl_seconds=seconds
        )
    return repository


def create_preferences_app(
    settings: Settings | None = None,
    *,
    client: DynamoDBClient | None = None,
    verifier: TokenVerifier | None = None,
    org_cache_seconds: float | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    app = create_app(
        title="Parley preferences",
        routers=preferences_routers(),
        settings=settings,
        verifier=verifier,
    )
    install_preferences_state(
        app, settings=settings, client=client, org_cache_seconds=org_cache_seconds
    )
    return app
