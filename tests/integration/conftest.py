"""Fixtures of the chat API tests: a fake upstream per module, and a live chat server in
front of it per test (a module that needs another server defines its own ``chat``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.fakes.upstreams import FakeUpstream
from tests.support.chat import ChatServer, start_chat_server
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
def chat(
    settings: Settings,
    dynamodb: DynamoDBClient,
    upstream: FakeUpstream,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[ChatServer]:
    server = start_chat_server(settings, dynamodb, upstream, tmp_path, request.node.nodeid)
    yield server
    server.server.stop()


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[CliRun]:
    """``parley`` run in-process against this test's tables; (exit code, stdout JSON, stderr)."""
    yield from in_process_cli(settings, monkeypatch, capsys)
