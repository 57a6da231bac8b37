"""Every setting Parley reads from its environment, in one place.

Each field is documented in the README's configuration table; a test keeps the two in step.
Variables are ``PARLEY_<FIELD>`` unless an alias names a standard variable that other tools
already read (Powertools, the AWS SDK, Upstash).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path  # noqa: TC003 (pydantic reads the annotation at runtime)
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEV_JWT_SECRET", "Settings", "get_settings"]

# Signs development tokens only. Settings refuse it outside development, so a deployment that
# forgets to configure auth fails at start instead of accepting tokens anyone can mint.
DEV_JWT_SECRET = "parley-development-secret-never-use-in-production"  # noqa: S105

ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"})


class Settings(BaseSettings):
    # env_ignore_empty: the template passes optional parameters as "" when unset.
    model_config = SettingsConfigDict(
        env_prefix="PARLEY_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    env: Literal["development", "production"] = Field(
        default="production",
        description="`development` enables the embedded development secret and local defaults.",
    )

    # Telemetry: the names Powertools itself reads.
    service_name: str = Field(
        default="parley",
        validation_alias=AliasChoices("POWERTOOLS_SERVICE_NAME", "PARLEY_SERVICE_NAME"),
        description="Service name on every log line, metric and trace.",
    )
    metrics_namespace: str = Field(
        default="Parley",
        validation_alias=AliasChoices("POWERTOOLS_METRICS_NAMESPACE", "PARLEY_METRICS_NAMESPACE"),
        description="CloudWatch namespace of the EMF metrics.",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=AliasChoices("POWERTOOLS_LOG_LEVEL", "PARLEY_LOG_LEVEL"),
        description="Log level (DEBUG, INFO, WARNING, ERROR).",
    )

    # Authentication.
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 secret. Ignored when `PARLEY_JWKS_URL` is set."
    )
    jwks_url: str | None = Field(
        default=None, description="JWKS URL of the identity provider; enables RS256 verification."
    )
    # NoDecode: the variable is a comma-separated list, not JSON.
    jwt_algorithms: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("RS256",), description="Asymmetric algorithms accepted with a JWKS URL."
    )
    jwt_issuer: str | None = Field(default=None, description="Required `iss` claim, if set.")
    jwt_audience: str | None = Field(default=None, description="Required `aud` claim, if set.")
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew allowed.")
    jwks_timeout_seconds: float = Field(default=2.0, gt=0, description="JWKS fetch timeout.")
    jwks_cache_seconds: int = Field(default=300, gt=0, description="How long JWKS keys are kept.")
    jwt_org_claim: str = Field(default="org", description="Claim holding the org id.")
    default_org: str = Field(default="default", description="Org of tokens without one.")
    secrets_arn: str | None = Field(
        default=None,
        description="Secrets Manager secret (JSON) holding `jwt_secret` and provider API keys.",
    )

    # HTTP.
    cors_origins: str = Field(
        default="*", description="Comma-separated origins allowed by CORS (`*` for any)."
    )
    # Lambda's own limit on a request's payload (6 MB): images come inline as data: URLs.
    max_body_bytes: int = Field(
        default=6_291_456, gt=0, description="Largest request body accepted; larger is 413."
    )

    # DynamoDB. The endpoint comes from the AWS SDK's own AWS_ENDPOINT_URL_DYNAMODB.
    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="AWS region of the tables (set by Lambda).",
    )
    conversations_table: str = Field(
        default="parley-conversations", description="Conversations and messages table."
    )
    hot_table: str = Field(default="parley-hot", description="Hot-state table (DynamoDB backend).")
    usage_table: str = Field(default="parley-usage", description="Per-call usage events table.")
    accounts_table: str = Field(
        default="parley-accounts",
        description="Org settings, token balances, reservations and daily spend.",
    )
    feedback_table: str = Field(
        default="parley-feedback", description="Feedback and corrections table."
    )
    idempotency_table: str = Field(
        default="parley-idempotency",
        description="Powertools Idempotency records (feedback submissions, job runs).",
    )
    analytics_table: str = Field(
        default="parley-analytics",
        description="Rollups of usage and feedback, and the recommender's routing advice.",
    )
    usage_retention_days: int = Field(
        default=90, gt=0, description="Days a usage event is kept before TTL deletes it."
    )
    dynamodb_timeout_seconds: float = Field(
        default=3.0, gt=0, description="Connect and read timeout of DynamoDB calls."
    )
    template_file: Path | None = Field(
        default=None,
        description="template.yaml whose tables `parley dev` creates (found upward by default).",
    )

    # Hot state.
    hot_backend: Literal["auto", "memory", "dynamodb", "upstash"] = Field(
        default="auto",
        description="`auto`: Upstash when configured, memory in development, else DynamoDB.",
    )
    upstash_redis_rest_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("UPSTASH_REDIS_REST_URL", "PARLEY_UPSTASH_REDIS_REST_URL"),
        description="Upstash Redis REST URL.",
    )
    upstash_redis_rest_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "UPSTASH_REDIS_REST_TOKEN", "PARLEY_UPSTASH_REDIS_REST_TOKEN"
        ),
        description="Upstash Redis REST token.",
    )
    hot_timeout_seconds: float = Field(
        default=1.0, gt=0, description="Timeout of one hot-state operation."
    )

    # Models and providers.
    models_file: Path | None = Field(
        default=None, description="Model catalog YAML (default: the catalog shipped with Parley)."
    )
    default_model: str | None = Field(
        default=None, description="Overrides the catalog's `default_model`."
    )
    provider_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Connect timeout to a provider."
    )
    provider_read_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest silence between bytes from a provider."
    )
    local_token_delay_seconds: float = Field(
        default=0.02, ge=0, description="Pause between words of the offline `local` model."
    )

    # Chat.
    system_prompt: str = Field(
        default="You are a helpful assistant.", description="System prompt of every chat."
    )
    context_messages: int = Field(
        default=5, ge=0, le=100, description="Earlier messages sent to the model as context."
    )
    context_cache_seconds: int = Field(
        default=1800, gt=0, description="Lifetime of a conversation's context in the hot store."
    )
    max_message_chars: int = Field(
        default=32_000, gt=0, description="Longest chat message accepted; longer is 422."
    )
    # Anthropic's per-image limit, the smallest of the providers': any of them takes the image.
    max_image_bytes: int = Field(
        default=5_242_880, gt=0, description="Largest image (decoded) accepted; larger is 413."
    )
    max_images: int = Field(
        default=20, gt=0, description="Most images in one request; more is 422."
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Idle interval after which a stream sends `: ping`."
    )
    stream_idle_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait for the model's next token."
    )
    stream_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest a single answer may stream."
    )

    # Failover, retries and circuit breakers (parley.routing).
    first_token_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Longest one provider call may take to its first token."
    )
    failover_budget_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest a request may spend on retries and failovers before a first token.",
    )
    retries_per_model: int = Field(
        default=1, ge=0, le=5, description="Retries of a failing model before the next one."
    )
    breaker_window_seconds: int = Field(
        default=3600,
        ge=300,
        multiple_of=300,
        description="Window over which a model's failures are counted (5-minute steps).",
    )
    breaker_failure_ratio: float = Field(
        default=0.5, gt=0, le=1, description="Share of failed calls that opens a circuit."
    )
    breaker_min_requests: int = Field(
        default=5, ge=1, description="Calls in the window before a circuit may open."
    )
    breaker_open_seconds: float = Field(
        default=30.0, gt=0, description="How long an open circuit waits before a probe."
    )
    operator: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Who `parley health reset` audits as the operator (default: the OS user).",
    )

    # Org settings, idempotency.
    org_settings_cache_seconds: float = Field(
        default=30.0, ge=0, description="How long each process keeps an org's settings."
    )
    idempotency_ttl_seconds: int = Field(
        default=86_400, gt=0, description="How long an Idempotency-Key's result is replayed."
    )
    feedback_idempotency_seconds: int = Field(
        default=86_400,
        gt=0,
        description="How long a feedback submission's first record answers its retries.",
    )

    # Operations: where alerts go (template.yaml's AlertsTopic, the Slack forwarder).
    alerts_topic_arn: str | None = Field(
        default=None, description="SNS topic the regression alerts are published to."
    )
    dashboard_url: str | None = Field(
        default=None, description="Console URL of the CloudWatch dashboard, linked from alerts."
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack incoming-webhook URL the Slack forwarder posts to."
    )

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _only_asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A JWKS publishes public keys; accepting HS* beside them is the key-confusion hole.
        unknown = set(value) - ASYMMETRIC_ALGORITHMS
        if not value or unknown:
            allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(f"PARLEY_JWT_ALGORITHMS takes one or more of {allowed}")
        return value

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
