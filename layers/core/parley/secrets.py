"""The deployment's secret values (JWT secret, provider API keys) from Secrets Manager.

One JSON secret, named by ``PARLEY_SECRETS_ARN``, read through Powertools Parameters, which
caches it for ``max_age_seconds`` so a warm function does not call Secrets Manager per request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.errors import ConfigurationError, ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["SecretStore"]


class SecretStore:
    def __init__(
        self,
        secret_arn: str,
        *,
        boto3_client: SecretsManagerClient | None = None,
        max_age_seconds: int = 300,
    ) -> None:
        # Imported here: Parameters pulls in boto3, which a process without secrets never needs.
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        self._arn = secret_arn
        self._max_age = max_age_seconds
        self._provider = SecretsProvider(boto3_client=boto3_client)

    def get(self, name: str) -> str | None:
        """The named value from the JSON secret, or None when the secret does not hold it."""
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        try:
            values: Any = self._provider.get(self._arn, transform="json", max_age=self._max_age)
        except TransformParameterError as exc:
            raise ConfigurationError(f"Secret {self._arn} is not a JSON object.") from exc
        except GetParameterError as exc:
            raise ServiceUnavailable(f"Could not read secret {self._arn}.") from exc
        if not isinstance(values, dict):
            raise ConfigurationError(f"Secret {self._arn} is not a JSON object.")
        value = values.get(name)
        return value if isinstance(value, str) and value else None
