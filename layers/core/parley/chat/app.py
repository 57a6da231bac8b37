"""Building the chat function's app: the pipeline and its collaborators, created once."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.chat.accounting import Accounting
from parley.chat.conversations_api import router as conversations_router
from parley.chat.memory import ConversationMemory
from parley.chat.pipeline import ChatService
from parley.chat.routes import router as chat_router
from parley.config import get_settings
from parley.hot.factory import create_hot_store
from parley.http.app import create_app
from parley.providers.catalog import load_catalog
from parley.providers.keys import ApiKeys
from parley.providers.registry import ProviderRegistry
from parley.providers.timeouts import ProviderTimeouts
from parley.secrets import SecretStore
from parley.state.client import dynamodb_client
from parley.state.conversations import ConversationRepository
from parley.state.usage import UsageRepository

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from fastapi import APIRouter, FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.hot.base import HotStore

__all__ = ["ChatBackends", "chat_routers", "create_chat_app"]


@dataclass
class ChatBackends:
    """Clients the chat app talks to; each defaults to the one the settings describe."""

    dynamodb: DynamoDBClient | None = None
    hot: HotStore | None = None
    secrets: SecretStore | None = None
    environ: Mapping[str, str] | None = None


def chat_routers() -> list[APIRouter]:
    return [chat_router, conversations_router]


def create_chat_app(
    settings: Settings | None = None,
    backends: ChatBackends | None = None,
    *,
    title: str = "Parley chat",
) -> FastAPI:
    settings = settings or get_settings()
    backends = backends or ChatBackends()
    client = backends.dynamodb or dynamodb_client()
    hot = backends.hot or create_hot_store(settings)
    secrets = backends.secrets
    if secrets is None and settings.secrets_arn:
        secrets = SecretStore(settings.secrets_arn)
    conversations = ConversationRepository(settings.conversations_table, client=client)
    registry = ProviderRegistry(
        ApiKeys(secrets, backends.environ),
        timeouts=ProviderTimeouts(
            connect_seconds=settings.provider_connect_timeout_seconds,
            read_seconds=settings.provider_read_timeout_seconds,
        ),
        local_token_delay_seconds=settings.local_token_delay_seconds,
    )
    service = ChatService(
        settings=settings,
        catalog=load_catalog(settings.models_file),
        registry=registry,
        memory=ConversationMemory(
            conversations,
            hot,
            context_messages=settings.context_messages,
            cache_seconds=settings.context_cache_seconds,
        ),
        accounting=Accounting(
            UsageRepository(
                settings.usage_table, retention_days=settings.usage_retention_days, client=client
            ),
            namespace=settings.metrics_namespace,
            service=settings.service_name,
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await registry.aclose()
        await hot.close()

    app = create_app(title=title, routers=chat_routers(), settings=settings, lifespan=lifespan)
    app.state.chat = service
    app.state.conversations = conversations
    return app
