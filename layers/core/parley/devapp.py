"""The development server's app: every function's routes in one ASGI app, plus the playground."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.chat.app import create_chat_app
from parley.chat.playground import router as playground_router

if TYPE_CHECKING:
    from fastapi import FastAPI

    from parley.config import Settings

__all__ = ["create_dev_app"]


def create_dev_app(settings: Settings, *, dev_token: str = "") -> FastAPI:
    app = create_chat_app(settings, title="Parley (development)")
    # Later functions add their routers here, so that `parley dev` serves them all.
    app.include_router(playground_router)
    app.state.dev_token = dev_token
    return app
