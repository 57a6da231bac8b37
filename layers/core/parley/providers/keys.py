"""Provider API keys: the model's environment variable first, then the deployment secret.

In the secret (``PARLEY_SECRETS_ARN``, a JSON object) a key is stored under the lower-case
name of its variable: ``OPENAI_API_KEY`` → ``openai_api_key``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from parley.providers.catalog import ModelSpec
    from parley.secrets import SecretStore

__all__ = ["ApiKeys"]

# Providers that work without any key: the offline model, and compatible servers that were
# configured without a key variable (a local Ollama or vLLM, say).
_KEYLESS = "local"


class ApiKeys:
    def __init__(
        self, secrets: SecretStore | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self._secrets = secrets
        self._environ = os.environ if environ is None else environ

    def key_for(self, spec: ModelSpec) -> str | None:
        """The key, "" for a model that needs none, None when it needs one and has none."""
        if spec.provider == _KEYLESS:
            return ""
        variable = spec.api_key_env or f"{spec.provider.upper()}_API_KEY"
        value = self._environ.get(variable)
        if value:
            return value
        if self._secrets is not None:
            stored = self._secrets.get(variable.lower())
            if stored:
                return stored
        if spec.provider == "openai_compatible" and spec.api_key_env is None:
            return ""
        return None

    def variable_for(self, spec: ModelSpec) -> str:
        return spec.api_key_env or f"{spec.provider.upper()}_API_KEY"
