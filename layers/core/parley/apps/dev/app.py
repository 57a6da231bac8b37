"""The development server's app: every function's routes in one ASGI app, plus the playground,
with the collaborators each function would build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.apps.analytics import analytics_parts
from parley.apps.chat import ChatBackends, chat_parts
from parley.apps.dev.playground_api import Playground
from parley.apps.dev.playground_api import router as playground_router
from parley.apps.feedback import feedback_parts
from parley.apps.health import health_parts
from parley.apps.orgs import org_settings_cache
from parley.apps.parts import Parts, build_app
from parley.apps.preferences import preferences_parts
from parley.apps.stores import dynamodb_stores
from parley.hot.factory import create_hot_store
from parley.state.client import dynamodb_client

if TYPE_CHECKING:
    from fastapi import FastAPI

    from parley.config import Settings

__all__ = ["create_dev_app"]


def create_dev_app(settings: Settings, *, dev_token: str = "") -> FastAPI:
    client = dynamodb_client()
    stores = dynamodb_stores(settings, client)
    # One cache of org settings for every route: an org change is seen by all at once.
    org_settings = org_settings_cache(settings, stores.documents)
    # One hot store: the health routes read and reset the circuits chat trips (chat closes it).
    hot = create_hot_store(settings)
    parts = (
        chat_parts(settings, ChatBackends(stores=stores, hot=hot), org_settings=org_settings)
        + preferences_parts(stores.documents, org_settings=org_settings)
        + feedback_parts(settings, client)
        + analytics_parts(settings, client, org_settings=org_settings)
        + health_parts(settings, client, hot=hot)
        + Parts(routers=(playground_router,), collaborators=(Playground(dev_token),))
    )
    return build_app(parts, title="Parley (development)", settings=settings)
