"""Typed wiring: a route asks for its capability's collaborator by type, and an app that does
not install it refuses to start (not the route's first request)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
from fastapi import APIRouter

from parley.config import Settings
from parley.errors import ConfigurationError
from parley.http import create_app
from parley.http.collaborators import collaborator
from tests.support.asgi import client_for

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Greeter:
    greeting: str


def greeting_router() -> APIRouter:
    router = APIRouter()

    @router.get("/probe/greeting")
    async def greeting(greeter: Annotated[Greeter, collaborator(Greeter)]) -> dict[str, str]:
        return {"greeting": greeter.greeting}

    return router


SETTINGS = Settings(env="development")


async def test_a_route_gets_the_collaborator_the_app_installed() -> None:
    app = create_app(
        routers=[greeting_router()], collaborators=[Greeter("hello")], settings=SETTINGS
    )
    async with client_for(app) as client:
        assert (await client.get("/probe/greeting")).json() == {"greeting": "hello"}


def test_an_app_missing_a_routes_collaborator_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match=r"GET /probe/greeting needs Greeter"):
        create_app(routers=[greeting_router()], settings=SETTINGS)


def test_two_collaborators_of_one_type_are_a_wiring_mistake() -> None:
    with pytest.raises(ConfigurationError, match="Two Greeter"):
        create_app(collaborators=[Greeter("a"), Greeter("b")], settings=SETTINGS)


@pytest.mark.parametrize(
    "build",
    ["create_chat_app", "create_preferences_app", "create_feedback_app", "create_dev_app"],
)
def test_every_function_app_and_the_dev_app_have_every_collaborator_they_need(
    build: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Building one checks every route: an app that builds has all its collaborators.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # never called
    from parley.apps import chat, feedback, preferences
    from parley.apps.dev import app as dev

    builders = {
        "create_chat_app": chat.create_chat_app,
        "create_preferences_app": preferences.create_preferences_app,
        "create_feedback_app": feedback.create_feedback_app,
        "create_dev_app": dev.create_dev_app,
    }
    built = builders[build](SETTINGS)
    assert built.routes
