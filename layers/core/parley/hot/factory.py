"""Choosing the hot-state backend from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.errors import ConfigurationError

if TYPE_CHECKING:
    from parley.config import Settings
    from parley.hot.base import HotStore

__all__ = ["create_hot_store", "hot_backend_name", "upstash_credentials"]


def hot_backend_name(settings: Settings) -> str:
    """The backend of short-lived shared state (and of the rate limiter, which lives beside it)."""
    if settings.hot_backend != "auto":
        return settings.hot_backend
    if settings.upstash_redis_rest_url:
        return "upstash"
    # Memory is only right in one process; deployed functions run in many environments.
    return "memory" if settings.is_development else "dynamodb"


def create_hot_store(settings: Settings) -> HotStore:
    backend = hot_backend_name(settings)
    # Each backend is imported only when chosen: Upstash's client and boto3 are not free.
    if backend == "memory":
        from parley.hot.memory import MemoryHotStore

        return MemoryHotStore()
    if backend == "dynamodb":
        from parley.hot.dynamodb import DynamoDBHotStore

        return DynamoDBHotStore(settings.hot_table)
    from parley.hot.upstash import UpstashHotStore

    url, token = upstash_credentials(settings)
    return UpstashHotStore(url, token, timeout_seconds=settings.hot_timeout_seconds)


def upstash_credentials(settings: Settings) -> tuple[str, str]:
    """The Upstash REST URL and token; the token may come from the PARLEY_SECRETS_ARN secret."""
    url, token = settings.upstash_redis_rest_url, _upstash_token(settings)
    if not url or not token:
        raise ConfigurationError(
            "The Upstash backend needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN "
            "(or `upstash_redis_rest_token` in the PARLEY_SECRETS_ARN secret)."
        )
    return url, token


def _upstash_token(settings: Settings) -> str | None:
    if settings.upstash_redis_rest_token is not None:
        return settings.upstash_redis_rest_token.get_secret_value()
    if settings.secrets_arn:
        from parley.secrets import SecretStore

        return SecretStore(settings.secrets_arn).get("upstash_redis_rest_token")
    return None
