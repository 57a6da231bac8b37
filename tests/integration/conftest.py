"""Fixtures of the integration tests: a fake upstream per module; chat apps in front of it,
either in-process on memory stores (``chat``, or ``start_memory_chat`` for apps with other
options), or live servers on moto for tests about DynamoDB (``start_chat``); and
``parley`` in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.upstreams import FakeUpstream
from tests.support.chat import (
    ChatServer,
    MemoryChat,
    StartChat,
    StartMemoryChat,
    memory_chat_app,
    start_chat_server,
)
from tests.support.cli import CliRun, in_process_cli

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture
def start_chat(
    settings: Settings,
    dynamodb: DynamoDBClient,
    upstream: FakeUpstream,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[StartChat]:
    """Starts live chat servers in front of this module's upstream; each is stopped after the
    test. ``client`` replaces the DynamoDB client (a wrapper that injects a fault, say); the
    other keywords are ``start_chat_server``'s (settings overrides included)."""
    servers: list[ChatServer] = []

    def start(*, client: Any = None, **options: Any) -> ChatServer:
        server = start_chat_server(
            settings, client or dynamodb, upstream, tmp_path, request.node.nodeid, **options
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.server.stop()


@pytest.fixture
async def start_memory_chat(
    upstream: FakeUpstream, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[StartMemoryChat]:
    """Builds chat apps in front of this module's upstream, in this process, on memory stores
    (new ones, or ``stores=`` another app's); the keywords are ``memory_chat_app``'s. Each is
    shut down after the test."""
    apps: list[MemoryChat] = []

    def start(**options: Any) -> MemoryChat:
        chat = memory_chat_app(upstream, tmp_path, request.node.nodeid, **options)
        apps.append(chat)
        return chat

    yield start
    for chat in apps:
        # As a server shuts an app down: the lifespan's end closes what the app opened (SDK
        # clients, the limiter, the hot store); its start opens nothing.
        async with chat.app.router.lifespan_context(chat.app):
            pass


@pytest.fixture
def chat(start_memory_chat: StartMemoryChat) -> MemoryChat:
    """The chat app the API tests talk to: in-process, on new memory stores."""
    return start_memory_chat()


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[CliRun]:
    """``parley`` run in-process against this test's tables; (exit code, stdout JSON, stderr)."""
    yield from in_process_cli(settings, monkeypatch, capsys)
