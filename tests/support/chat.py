"""The chat app, wired to the fake upstreams and a catalog of its own: on a real loopback
server in front of moto (``ChatServer``), or in this process on memory stores
(``MemoryChat``: no moto, no server); and a reader for its event streams."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import yaml

from parley.apps.chat import ChatBackends, create_chat_app
from parley.apps.stores import memory_stores
from parley.budget.ratelimit.memory import MemoryRateLimiter
from parley.config import Settings
from parley.hot.memory import MemoryHotStore
from tests.support.asgi import bearer, streaming_client_for
from tests.support.servers import LiveServer

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.apps.stores import Stores
    from parley.budget.ratelimit import RateLimiter
    from parley.hot.base import HotStore
    from tests.fakes.upstreams import FakeUpstream

# Catalog name -> (provider, which base URL of the fake)
PROVIDERS = {
    "m-openai": "openai",
    "m-anthropic": "anthropic",
    "m-gemini": "gemini",
    "m-compat": "openai_compatible",
}


ROUTES = ("light", "standard", "heavy", "long_context", "cheap", "smart")
# What the fake upstreams' models declare: everything the three providers' models take.
FULL_CAPABILITIES = {
    "tools": True,
    "vision": ["image/png", "image/jpeg", "image/gif", "image/webp"],
    "json_schema": True,
}
# Unless a test asks for failover, every route has one model: a failure is then the client's.
SINGLE_MODEL_ROUTING = {route: ["m-openai"] for route in ROUTES}


def write_catalog(
    path: Path,
    upstream: FakeUpstream,
    prefix: str,
    *,
    routing: dict[str, list[str]] | None = None,
    backup: FakeUpstream | None = None,
    base_urls: dict[str, str] | None = None,
    capabilities: dict[str, dict[str, Any]] | None = None,
) -> dict[str, str]:
    """A catalog whose models live on the fake upstream under ids unique to ``prefix`` (so
    scripts never leak between tests). With ``backup``, a second upstream serves ``m-backup``
    (Anthropic's wire format); ``capabilities`` replaces what the named models declare (the
    fakes' models declare everything). Returns catalog name -> upstream model id."""
    base = {
        "openai": upstream.openai_base_url,
        "openai_compatible": upstream.openai_base_url,
        "anthropic": upstream.anthropic_base_url,
        "gemini": upstream.gemini_base_url,
    }
    ids = {name: f"{prefix}-{name}" for name in PROVIDERS}
    models: list[dict[str, Any]] = [
        {
            "name": name,
            "provider": provider,
            "model": ids[name],
            "base_url": base[provider],
            "api_key_env": "FAKE_KEY",
            "tier": "standard",
            "context_window": 100_000,
            "input_price_per_mtok": 2.0,
            "output_price_per_mtok": 10.0,
            "capabilities": FULL_CAPABILITIES,
        }
        for name, provider in PROVIDERS.items()
    ]
    models.append(
        {
            "name": "m-nokey",
            "provider": "openai",
            "model": "nokey",
            "api_key_env": "NOT_SET_ANYWHERE",
            "tier": "heavy",
            "context_window": 1000,
            "input_price_per_mtok": 9,
            "output_price_per_mtok": 9,
        }
    )
    models.append(
        {
            "name": "local",
            "provider": "local",
            "model": "parley-local",
            "tier": "light",
            "context_window": 32_768,
            "input_price_per_mtok": 0,
            "output_price_per_mtok": 0,
        }
    )
    if backup is not None:
        ids["m-backup"] = f"{prefix}-m-backup"
        models.append(
            {
                "name": "m-backup",
                "provider": "anthropic",
                "model": ids["m-backup"],
                "base_url": backup.anthropic_base_url,
                "api_key_env": "FAKE_KEY",
                "tier": "standard",
                "context_window": 100_000,
                "input_price_per_mtok": 3.0,
                "output_price_per_mtok": 15.0,
                "capabilities": FULL_CAPABILITIES,
            }
        )
    for model in models:
        model["base_url"] = (base_urls or {}).get(model["name"], model.get("base_url"))
        if model["name"] in (capabilities or {}):
            model["capabilities"] = (capabilities or {})[model["name"]]
    document = {
        "default_model": "m-openai",
        "models": models,
        "routing": SINGLE_MODEL_ROUTING if routing is None else routing,
    }
    path.write_text(yaml.safe_dump(document))
    return ids


def unique_prefix(nodeid: str) -> str:
    return hashlib.sha1(nodeid.encode()).hexdigest()[:12]  # noqa: S324 (a name, not security)


class ChatTarget(Protocol):
    """A chat app a test talks to, wherever it runs."""

    models: dict[str, str]  # catalog name -> upstream model id
    settings: Settings

    def client(self) -> httpx.AsyncClient:
        """A client whose paths are the app's (``/v1/chat/stream``); close it after use."""
        ...


@dataclass
class ChatServer:
    server: LiveServer
    models: dict[str, str]  # catalog name -> upstream model id
    settings: Settings

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)


@dataclass
class MemoryChat:
    """The whole chat app in this process, on memory stores and the memory hot store."""

    app: FastAPI
    models: dict[str, str]  # catalog name -> upstream model id
    settings: Settings
    stores: Stores
    hot: HotStore

    def client(self) -> httpx.AsyncClient:
        return streaming_client_for(self.app)


# ``start_chat(client=..., **options)`` (tests/integration/conftest.py): a server per call.
StartChat = Callable[..., "ChatServer"]
# ``start_memory_chat(stores=..., **options)``: an app per call, on the stores given or new.
StartMemoryChat = Callable[..., "MemoryChat"]


def configured_for(
    settings: Settings,
    upstream: FakeUpstream,
    tmp_path: Path,
    nodeid: str,
    *,
    routing: dict[str, list[str]] | None = None,
    backup: FakeUpstream | None = None,
    base_urls: dict[str, str] | None = None,
    capabilities: dict[str, dict[str, Any]] | None = None,
    **overrides: Any,
) -> tuple[Settings, dict[str, str]]:
    """``settings`` with a catalog of the test's own models (``write_catalog``) and the
    ``overrides``; and catalog name -> upstream model id."""
    models = write_catalog(
        tmp_path / "models.yaml",
        upstream,
        unique_prefix(nodeid),
        routing=routing,
        backup=backup,
        base_urls=base_urls,
        capabilities=capabilities,
    )
    configured = settings.model_copy(
        update={
            "models_file": tmp_path / "models.yaml",
            "local_token_delay_seconds": 0,
            **overrides,
        }
    )
    return configured, models


def fake_backends(
    *, hot: HotStore | None = None, limiter: RateLimiter | None = None, **others: Any
) -> ChatBackends:
    """Backends in this process (the hot store and the limiter in memory unless given), with
    the key every fake upstream accepts."""
    return ChatBackends(
        hot=hot or MemoryHotStore(),
        limiter=limiter or MemoryRateLimiter(),
        environ={"FAKE_KEY": "fake-key"},
        **others,
    )


def start_chat_server(
    settings: Settings,
    dynamodb: DynamoDBClient,
    upstream: FakeUpstream,
    tmp_path: Path,
    nodeid: str,
    *,
    hot: HotStore | None = None,
    limiter: RateLimiter | None = None,
    **options: Any,
) -> ChatServer:
    configured, models = configured_for(settings, upstream, tmp_path, nodeid, **options)
    app = create_chat_app(configured, fake_backends(hot=hot, limiter=limiter, dynamodb=dynamodb))
    return ChatServer(LiveServer(app).start(), models, configured)


def memory_chat_app(
    upstream: FakeUpstream,
    tmp_path: Path,
    nodeid: str,
    *,
    stores: Stores | None = None,
    hot: HotStore | None = None,
    limiter: RateLimiter | None = None,
    **options: Any,
) -> MemoryChat:
    """The chat app on ``stores`` (new memory stores unless given: another app on the same
    stores is another Lambda environment of one deployment)."""
    configured, models = configured_for(
        Settings(env="development"), upstream, tmp_path, nodeid, **options
    )
    stores = stores or memory_stores(configured)
    hot = hot or MemoryHotStore()
    app = create_chat_app(configured, fake_backends(hot=hot, limiter=limiter, stores=stores))
    return MemoryChat(app, models, configured, stores, hot)


@dataclass
class Streamed:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    pings: int = 0
    ids: list[int] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    @property
    def text(self) -> str:
        return "".join(event["text"] for event in self.of("token"))

    @property
    def body(self) -> dict[str, Any]:
        """For a non-stream (error) response: the JSON body."""
        return self.events[0] if self.events else {}


async def stream_chat(
    chat: ChatTarget | str,
    body: dict[str, Any] | bytes,
    *,
    user: str = "user-1",
    org: str | None = None,
    stop_after_tokens: int | None = None,
    headers: dict[str, str] | None = None,
) -> Streamed:
    """POST /v1/chat/stream and read it as a fetch-based client would, line by line. ``chat``:
    the app, or the URL of a server."""
    headers = {**bearer(user, org_id=org), "Content-Type": "application/json", **(headers or {})}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    client = (
        httpx.AsyncClient(base_url=chat, timeout=30) if isinstance(chat, str) else chat.client()
    )
    async with (
        client,
        client.stream("POST", "/v1/chat/stream", content=content, headers=headers) as response,
    ):
        result = Streamed(response.status_code, dict(response.headers))
        if response.status_code != 200:
            result.events.append(json.loads(await response.aread()))
            return result
        buffer = ""
        # aclosing: leaving early must close the reader itself, not leave it to the collector.
        async with aclosing(response.aiter_text()) as chunks:
            async for text in chunks:
                buffer += text
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    if block == ": ping":
                        result.pings += 1
                        continue
                    fields = dict(line.split(": ", 1) for line in block.split("\n"))
                    result.ids.append(int(fields["id"]))
                    result.events.append(json.loads(fields["data"]))
                if stop_after_tokens is not None and len(result.of("token")) >= stop_after_tokens:
                    break  # leaving the block closes the connection: a disconnect
        return result
