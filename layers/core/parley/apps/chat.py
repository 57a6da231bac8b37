"""The chat function's app: chat, conversations, models, org settings and budget, with the
pipeline and its collaborators built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.analytics.advice import AdviceCache
from parley.apps.orgs import org_parts
from parley.apps.parts import Parts, build_app
from parley.apps.stores import dynamodb_stores
from parley.budget.api import router as budget_router
from parley.budget.collaborators import BudgetCollaborators
from parley.budget.ledger import AsyncLedger
from parley.budget.ratelimit import create_rate_limiter
from parley.chat.billing import Charges
from parley.chat.edge.api import router as chat_router
from parley.chat.edge.collaborators import ChatCollaborators
from parley.chat.edge.conversations_api import router as conversations_router
from parley.chat.idempotency.store import IdempotencyStore
from parley.chat.memory import ConversationMemory
from parley.chat.pipeline import ChatService
from parley.chat.preparation import Preparation
from parley.chat.response_cache import ResponseCache
from parley.chat.safety import ChatSafety
from parley.chat.usage_records import Accounting
from parley.config import get_settings
from parley.guardrails.cooldown import SafetyCooldown
from parley.guardrails.guard import CrisisGuard
from parley.hot.factory import create_hot_store
from parley.orgs.api import router as orgs_router
from parley.preferences.repository import PreferencesRepository
from parley.preferences.smart import SmartDefaults
from parley.providers.catalog import load_catalog
from parley.providers.keys import ApiKeys
from parley.providers.registry import ProviderRegistry
from parley.providers.timeouts import ProviderTimeouts
from parley.routing.breaker import BreakerPolicy, CircuitBreaker
from parley.routing.failover import Failover
from parley.routing.learned import LearnedRouting
from parley.routing.retry import RetryPolicy
from parley.secrets import SecretStore

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.apps.stores import Stores
    from parley.budget.ratelimit import RateLimiter
    from parley.config import Settings
    from parley.hot.base import HotStore
    from parley.orgs.cache import OrgSettingsCache

__all__ = ["ChatBackends", "chat_parts", "create_chat_app"]


@dataclass
class ChatBackends:
    """Clients the chat app talks to; each defaults to the one the settings describe."""

    dynamodb: DynamoDBClient | None = None
    # What requests store (``parley.apps.stores``); default: the settings' tables, through
    # ``dynamodb``.
    stores: Stores | None = None
    hot: HotStore | None = None
    limiter: RateLimiter | None = None
    secrets: SecretStore | None = None
    environ: Mapping[str, str] | None = None


def create_chat_app(
    settings: Settings | None = None,
    backends: ChatBackends | None = None,
    *,
    title: str = "Parley chat",
) -> FastAPI:
    settings = settings or get_settings()
    return build_app(chat_parts(settings, backends), title=title, settings=settings)


def chat_parts(
    settings: Settings,
    backends: ChatBackends | None = None,
    *,
    org_settings: OrgSettingsCache | None = None,
) -> Parts:
    """The chat function's routes and collaborators. ``org_settings``: a cache of org settings
    to share (the development server's other routes read the same one)."""
    backends = backends or ChatBackends()
    stores = backends.stores or dynamodb_stores(settings, backends.dynamodb)
    hot = backends.hot or create_hot_store(settings)
    limiter = backends.limiter or create_rate_limiter(settings)
    secrets = backends.secrets
    if secrets is None and settings.secrets_arn:
        secrets = SecretStore(settings.secrets_arn)
    registry = ProviderRegistry(
        ApiKeys(secrets, backends.environ),
        timeouts=ProviderTimeouts(
            connect_seconds=settings.provider_connect_timeout_seconds,
            read_seconds=settings.provider_read_timeout_seconds,
        ),
        local_token_delay_seconds=settings.local_token_delay_seconds,
    )
    catalog = load_catalog(settings.models_file)
    ledger = AsyncLedger(stores.ledger)
    orgs = org_parts(settings, stores.documents, catalog=catalog, cache=org_settings)
    cache = orgs.settings
    memory = ConversationMemory(
        stores.conversations,
        hot,
        context_messages=settings.context_messages,
        cache_seconds=settings.context_cache_seconds,
    )
    charges = Charges(ledger, unmetered_seconds=settings.org_settings_cache_seconds)
    responses = ResponseCache(hot)
    safety = ChatSafety(CrisisGuard(catalog, registry), SafetyCooldown(hot))
    service = ChatService(
        preparation=Preparation(
            settings=settings,
            catalog=catalog,
            registry=registry,
            memory=memory,
            orgs=cache,
            limiter=limiter,
            charges=charges,
            cache=responses,
            preferences=SmartDefaults(PreferencesRepository(stores.documents)),
            # Each org's routing advice, a copy per process refreshed at most every 5 minutes.
            learned=LearnedRouting(AdviceCache(stores.rollups)),
            safety=safety,
        ),
        catalog=catalog,
        registry=registry,
        memory=memory,
        accounting=Accounting(
            stores.usage,
            namespace=settings.metrics_namespace,
            service=settings.service_name,
        ),
        charges=charges,
        failover=Failover(registry, _breaker(settings, hot), _retry_policy(settings)),
        cache=responses,
        safety=safety,
    )
    chat = ChatCollaborators(
        service=service,
        idempotency=IdempotencyStore(
            hot,
            in_progress_ttl_seconds=settings.stream_max_seconds + 60,
            result_ttl_seconds=settings.idempotency_ttl_seconds,
        ),
        conversations=stores.conversations,
        heartbeat_seconds=settings.stream_heartbeat_seconds,
    )
    return Parts(
        routers=(chat_router, conversations_router, orgs_router, budget_router),
        collaborators=(chat, orgs, BudgetCollaborators(ledger=ledger, org_settings=cache)),
        closers=(registry.aclose, limiter.close, hot.close),
    )


def _retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        retries_per_model=settings.retries_per_model,
        first_token_timeout_seconds=settings.first_token_timeout_seconds,
        idle_timeout_seconds=settings.stream_idle_timeout_seconds,
        budget_seconds=settings.failover_budget_seconds,
        max_stream_seconds=settings.stream_max_seconds,
    )


def _breaker(settings: Settings, hot: HotStore) -> CircuitBreaker:
    policy = BreakerPolicy(
        window_seconds=settings.breaker_window_seconds,
        failure_ratio=settings.breaker_failure_ratio,
        min_requests=settings.breaker_min_requests,
        open_seconds=settings.breaker_open_seconds,
    )
    # A second's copy per environment: the request path then reads a circuit about once a
    # second per model, not before every call (parley.routing.breaker says why that is safe).
    return CircuitBreaker(hot, policy, state_cache_seconds=1.0)
