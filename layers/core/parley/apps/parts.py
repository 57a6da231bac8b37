"""What an app is made of before it is an app: routers, the collaborators their routes ask
for, and what must be closed when it stops. Each function's app is one ``Parts``; the
development server's is the sum of them all, so one process serves every route with the same
collaborators the functions would build."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.http.app import create_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from fastapi import APIRouter, FastAPI

    from parley.auth.verifier import TokenVerifier
    from parley.config import Settings

__all__ = ["Parts", "build_app"]


@dataclass(frozen=True)
class Parts:
    routers: tuple[APIRouter, ...] = ()
    collaborators: tuple[object, ...] = ()
    # Awaited, in order, when the app shuts down (SDK clients, connection pools).
    closers: tuple[Callable[[], Awaitable[None]], ...] = ()

    def __add__(self, other: Parts) -> Parts:
        return Parts(
            routers=self.routers + other.routers,
            collaborators=self.collaborators + other.collaborators,
            closers=self.closers + other.closers,
        )


def build_app(
    parts: Parts, *, title: str, settings: Settings, verifier: TokenVerifier | None = None
) -> FastAPI:
    """The app serving ``parts``: ConfigurationError at once if a route lacks a collaborator."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for close in parts.closers:
            await close()

    return create_app(
        title=title,
        routers=parts.routers,
        collaborators=parts.collaborators,
        settings=settings,
        verifier=verifier,
        lifespan=lifespan if parts.closers else None,
    )
