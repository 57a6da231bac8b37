"""The preferences function's app: ``/v1/preferences``, behind Mangum in Lambda."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.apps.orgs import org_settings_cache
from parley.apps.parts import Parts, build_app
from parley.config import get_settings
from parley.preferences.api import router
from parley.preferences.collaborators import PreferencesCollaborators
from parley.preferences.repository import PreferencesRepository

if TYPE_CHECKING:
    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.auth.verifier import TokenVerifier
    from parley.config import Settings
    from parley.orgs.cache import OrgSettingsCache

__all__ = ["create_preferences_app", "preferences_parts"]


def create_preferences_app(
    settings: Settings | None = None,
    *,
    client: DynamoDBClient | None = None,
    verifier: TokenVerifier | None = None,
    org_cache_seconds: float | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    cache = org_settings_cache(settings, client, seconds=org_cache_seconds)
    return build_app(
        preferences_parts(settings, client, org_settings=cache),
        title="Parley preferences",
        settings=settings,
        verifier=verifier,
    )


def preferences_parts(
    settings: Settings, client: DynamoDBClient | None, *, org_settings: OrgSettingsCache
) -> Parts:
    """The preferences routes; ``org_settings`` gives each org's panels."""
    repository = PreferencesRepository(settings.accounts_table, client=client)
    return Parts(
        routers=(router,),
        collaborators=(PreferencesCollaborators(repository, org_settings),),
    )
