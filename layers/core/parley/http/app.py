"""The app factory every Parley function builds its FastAPI app with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from parley import __version__
from parley.auth.factory import build_verifier
from parley.config import get_settings
from parley.http.base_api import router as base_router
from parley.http.collaborators import check_collaborators, install_collaborators
from parley.http.handlers import install_error_handlers
from parley.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from parley.http.responses import ERROR_RESPONSES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fastapi import APIRouter
    from starlette.types import Lifespan

    from parley.auth.verifier import TokenVerifier
    from parley.config import Settings

__all__ = ["create_app"]


def _include_routers(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Add ``routers`` to ``app``, each route documented with Parley's error body (rather than
    FastAPI's own shape for the 422s it does not send)."""
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)


def create_app(
    *,
    title: str = "Parley",
    routers: Iterable[APIRouter] = (),
    collaborators: Iterable[object] = (),
    settings: Settings | None = None,
    verifier: TokenVerifier | None = None,
    lifespan: Lifespan[FastAPI] | None = None,
) -> FastAPI:
    """An app serving ``routers``, whose routes get ``collaborators`` (``parley.http.
    collaborators``): every collaborator a route asks for must be among them, or this raises
    ConfigurationError, at start rather than on the route's first request."""
    settings = settings or get_settings()
    app = FastAPI(
        title=title, version=__version__, docs_url="/docs", redoc_url=None, lifespan=lifespan
    )
    # Built now, not on the first request: a deployment without usable auth settings fails at
    # start with a clear message rather than answering 500s.
    install_collaborators(app, [verifier or build_verifier(settings), *collaborators])

    install_error_handlers(app)
    served = (base_router, *routers)
    _include_routers(app, served)
    check_collaborators(app, served)

    # add_middleware wraps: the last added runs first. CORS is outermost so that even the
    # errors written by the inner middleware carry CORS headers a browser can read.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-Id", "Retry-After", "ETag"],
        max_age=600,
    )
    return app
