"""The development server's app: every function's routes in one ASGI app, plus the playground."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.chat.app import create_chat_app
from parley.chat.playground import router as playground_router
from parley.feedback.app import feedback_routers, install_feedback_state
from parley.http.app import include_routers
from parley.preferences.app import install_preferences_state, preferences_routers

if TYPE_CHECKING:
    from fastapi import FastAPI

    from parley.config import Settings

__all__ = ["create_dev_app"]


def create_dev_app(settings: Settings, *, dev_token: str = "") -> FastAPI:
    app = create_chat_app(settings, title="Parley (development)")
    # The other functions' routes and collaborators, on the same app: they share the chat
    # app's org settings cache, so an org change is seen by all of them at once.
    include_routers(app, (*preferences_routers(), *feedback_routers()))
    install_preferences_state(app, settings=settings)
    install_feedback_state(app, settings=settings)
    include_routers(app, (playground_router,))
    app.state.dev_token = dev_token
    return app
