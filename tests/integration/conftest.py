"""Fixtures of the integration tests: a fake upstream per module, live chat servers in front of
it (``chat``, or ``start_chat`` for servers with other options), and ``parley`` in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.upstreams import FakeUpstream
from tests.support.chat import ChatServer, StartChat, start_chat_server
from tests.support.cli import CliRun, in_process_cli

if TYPE_CHECKING:
    from collections.abc import Iterator
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
def chat(start_chat: StartChat) -> ChatServer:
    return start_chat()


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[CliRun]:
    """``parley`` run in-process against this test's tables; (exit code, stdout JSON, stderr)."""
    yield from in_process_cli(settings, monkeypatch, capsys)
