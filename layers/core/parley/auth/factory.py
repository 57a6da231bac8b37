"""Choosing how tokens are verified from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.auth.keys import JwksKeys, SharedSecret
from parley.auth.verifier import TokenVerifier
from parley.config import DEV_JWT_SECRET
from parley.errors import ConfigurationError
from parley.secrets import SecretStore

if TYPE_CHECKING:
    from parley.auth.keys import KeySource
    from parley.config import Settings

__all__ = ["build_verifier", "resolve_jwt_secret"]

_MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash.


def build_verifier(settings: Settings, secrets: SecretStore | None = None) -> TokenVerifier:
    keys: KeySource
    if settings.jwks_url:
        keys = JwksKeys(
            settings.jwks_url,
            algorithms=settings.jwt_algorithms,
            timeout_seconds=settings.jwks_timeout_seconds,
            cache_seconds=settings.jwks_cache_seconds,
        )
    else:
        keys = SharedSecret(resolve_jwt_secret(settings, secrets))
    return TokenVerifier(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
        org_claim=settings.jwt_org_claim,
        default_org=settings.default_org,
    )


def resolve_jwt_secret(settings: Settings, secrets: SecretStore | None = None) -> str:
    """The HS256 secret: the variable, else the deployment secret, else (development only) the
    embedded development secret."""
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    if secret is None and settings.secrets_arn:
        secret = (secrets or SecretStore(settings.secrets_arn)).get("jwt_secret")
    if secret is None and settings.is_development:
        return DEV_JWT_SECRET
    if secret is None:
        raise ConfigurationError(
            "No way to verify tokens: set PARLEY_JWKS_URL (RS256 from your identity provider), "
            "or PARLEY_JWT_SECRET, or put `jwt_secret` in the PARLEY_SECRETS_ARN secret."
        )
    if not settings.is_development:
        if secret == DEV_JWT_SECRET:
            raise ConfigurationError("The development JWT secret cannot be used in production.")
        if len(secret.encode()) < _MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"The JWT secret must be at least {_MIN_SECRET_BYTES} bytes in production."
            )
    return secret
