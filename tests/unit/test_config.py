"""Settings come from the environment, in one place, and refuse unsafe combinations."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from parley.auth import resolve_jwt_secret
from parley.config import DEV_JWT_SECRET, Settings
from parley.errors import ConfigurationError

LONG_SECRET = "p" * 40


def test_defaults_are_production_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_ENV", raising=False)
    settings = Settings()
    assert settings.env == "production"
    assert settings.is_development is False


def test_variables_use_the_parley_prefix_and_standard_aliases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARLEY_HOT_TABLE", "my-hot")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "chat-svc")
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "https://example.upstash.io")
    monkeypatch.setenv("PARLEY_JWT_ALGORITHMS", "RS256, ES256")
    settings = Settings()
    assert settings.hot_table == "my-hot"
    assert settings.service_name == "chat-svc"
    assert settings.upstash_redis_rest_url == "https://example.upstash.io"
    assert settings.jwt_algorithms == ("RS256", "ES256")


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # The template passes unset optional parameters as empty strings.
    monkeypatch.setenv("PARLEY_JWT_ISSUER", "")
    monkeypatch.setenv("PARLEY_JWKS_URL", "")
    settings = Settings()
    assert settings.jwt_issuer is None
    assert settings.jwks_url is None


@pytest.mark.parametrize("algorithms", ["HS256", "RS256,HS256", "none", ""])
def test_symmetric_or_unknown_jwks_algorithms_are_refused(
    monkeypatch: pytest.MonkeyPatch, algorithms: str
) -> None:
    monkeypatch.setenv("PARLEY_JWT_ALGORITHMS", algorithms)
    if algorithms == "":
        assert Settings().jwt_algorithms == ("RS256",)  # empty means unset: the default
        return
    with pytest.raises(ValidationError, match="PARLEY_JWT_ALGORITHMS"):
        Settings()


def test_cors_origins_split_on_commas() -> None:
    settings = Settings(cors_origins="https://a.test, https://b.test,")
    assert settings.cors_origin_list == ["https://a.test", "https://b.test"]


def test_development_falls_back_to_the_embedded_secret() -> None:
    assert resolve_jwt_secret(Settings(env="development")) == DEV_JWT_SECRET


def test_production_without_any_auth_settings_fails_with_advice() -> None:
    with pytest.raises(ConfigurationError, match="PARLEY_JWKS_URL"):
        resolve_jwt_secret(Settings(env="production"))


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ConfigurationError, match="development JWT secret"):
        resolve_jwt_secret(Settings(env="production", jwt_secret=DEV_JWT_SECRET))


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        resolve_jwt_secret(Settings(env="production", jwt_secret="short"))


def test_production_accepts_a_long_secret() -> None:
    assert resolve_jwt_secret(Settings(env="production", jwt_secret=LONG_SECRET)) == LONG_SECRET
