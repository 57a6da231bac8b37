"""The development server's app: every function's routes in one ASGI app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.http.app import create_app

if TYPE_CHECKING:
    from fastapi import FastAPI

    from parley.config import Settings

__all__ = ["create_dev_app"]


def create_dev_app(settings: Settings) -> FastAPI:
    # Each capability adds its router here as it arrives; today every function serves the
    # base routes (/healthz, /v1/me) that create_app always includes.
    return create_app(title="Parley (development)", settings=settings)
