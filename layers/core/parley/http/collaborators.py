"""What an app's routes work with, typed: each capability declares the one object its routes
need (a frozen dataclass: its repositories, its services, its settings), its routes ask for it
through a FastAPI dependency, and the app that serves them installs it when it is built.

    orgs = OrgCollaborators(...)                     # built once, by the app (parley.apps)
    app = create_app(routers=[...], collaborators=[orgs, ...])

    Orgs = Annotated[OrgCollaborators, collaborator(OrgCollaborators)]   # in the capability
    async def read(orgs: Orgs) -> ...: ...

``create_app`` walks every route's dependencies and refuses to build an app one of whose
routes asks for a collaborator nobody installed (``ConfigurationError`` naming the route), so a
wiring mistake fails at start, not on the first request that reaches the route. Nothing is
looked up by name: the type is the key, and mypy checks what a route does with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Depends
from fastapi.routing import APIRoute
from starlette.requests import Request  # noqa: TC002 (FastAPI reads the annotation at runtime)

from parley.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fastapi import APIRouter, FastAPI
    from fastapi.dependencies.models import Dependant

__all__ = ["check_collaborators", "collaborator", "install_collaborators"]

# The one name this module keeps on ``app.state``: the installed collaborators, by type.
_STATE = "parley_collaborators"
# Marks a dependency made by ``collaborator``, with the type it returns.
_NEEDS = "__parley_collaborator__"


def install_collaborators(app: FastAPI, collaborators: Iterable[object]) -> None:
    """Make ``collaborators`` what ``collaborator(type)`` dependencies of ``app`` return, each
    under its own type. Two of one type are a wiring mistake."""
    installed: dict[type, object] = getattr(app.state, _STATE, None) or {}
    for found in collaborators:
        kind = type(found)
        if kind in installed and installed[kind] is not found:
            raise ConfigurationError(f"Two {kind.__name__} installed on one app.")
        installed[kind] = found
    setattr(app.state, _STATE, installed)


def collaborator[T](kind: type[T]) -> Any:
    """A FastAPI dependency (``Depends``) returning the app's installed ``kind``."""

    # async: FastAPI runs a sync dependency in a worker thread, a hop per request for a lookup.
    async def installed(request: Request) -> T:
        found = getattr(request.app.state, _STATE, {}).get(kind)
        if found is None:  # check_collaborators makes this unreachable in a built app
            raise ConfigurationError(f"No {kind.__name__} is installed on this app.")
        return found  # type: ignore[no-any-return]

    setattr(installed, _NEEDS, kind)
    installed.__name__ = f"installed_{kind.__name__}"
    return Depends(installed)


def check_collaborators(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """ConfigurationError listing every route of ``routers`` (those ``app`` serves) that asks
    for a collaborator ``app`` lacks."""
    installed = getattr(app.state, _STATE, {})
    missing = sorted(
        f"{', '.join(sorted(route.methods or ()))} {route.path} needs {kind.__name__}"
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for kind in _needs(route.dependant)
        if kind not in installed
    )
    if missing:
        raise ConfigurationError(
            "Routes without their collaborators (install them when building the app): "
            + "; ".join(missing)
        )


def _needs(dependant: Dependant) -> set[type]:
    kinds: set[type] = set()
    for dependency in dependant.dependencies:
        kind = getattr(dependency.call, _NEEDS, None)
        if kind is not None:
            kinds.add(kind)
        kinds |= _needs(dependency)
    return kinds
