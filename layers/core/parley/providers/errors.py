"""Provider failures, translated from each SDK at the adapter boundary.

UpstreamError
└── ProviderError (502 upstream_error)            any provider failure; carries provider,
    ├── ProviderRateLimited (503, Retry-After)     model, upstream status, retry_after and
    ├── ProviderUnavailable (502)                  whether it struck before the first token
    ├── ProviderTimeout (504)
    ├── ProviderStreamError (502)                  in-band error, malformed or cut stream
    ├── ProviderRejected (502, not retryable)      the provider refused the request (4xx)
    ├── ProviderRequestInvalid (422, not retryable) the request could not even be sent
    └── ProviderNotConfigured (503 model_not_configured, not retryable) no API key here

Each class says whether its failure is the provider's (``caused_by_provider``): only those
count toward a model's health, its circuit breaker shared by every org. A request the provider
refused for what it asked, one that could not be encoded, or a model with no key here says
nothing about the model's health; counting it would let one user's bad input take a model
down for everyone.
"""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING, Any

from parley.errors import UpstreamError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ProviderError",
    "ProviderNotConfigured",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderRequestInvalid",
    "ProviderStreamError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "retry_after_seconds",
]


class ProviderError(UpstreamError):
    code = "upstream_error"
    default_message = "The model provider failed."
    # The provider failed (an outage, a rate limit, a broken stream), not the request.
    caused_by_provider = True

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str = "",
        model: str = "",
        upstream_status: int | None = None,
        retry_after: float | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, details=details, retry_after=retry_after)
        self.provider = provider
        self.model = model
        self.upstream_status = upstream_status


class ProviderRateLimited(ProviderError):
    status = 503
    code = "upstream_rate_limited"
    default_message = "The model provider is rate-limiting requests."


class ProviderUnavailable(ProviderError):
    code = "upstream_unavailable"
    default_message = "The model provider is unavailable."


class ProviderTimeout(ProviderError):
    status = 504
    code = "upstream_timeout"
    default_message = "The model provider did not answer in time."


class ProviderRejected(ProviderError):
    code = "upstream_rejected"
    retryable = False
    caused_by_provider = False  # it answered: what it refused is this request
    default_message = "The model provider refused the request."


class ProviderRequestInvalid(ProviderError):
    """The SDK could not build or encode the request (text that is not valid Unicode, say):
    nothing reached the provider. Requests are checked before any call, so this is a last
    line, and never the model's fault."""

    status = 422
    code = "invalid_request"
    retryable = False
    caused_by_provider = False
    default_message = "The request could not be sent to the model."


class ProviderStreamError(ProviderError):
    code = "upstream_stream_error"
    default_message = "The model provider's stream broke off."


class ProviderNotConfigured(ProviderError):
    status = 503
    code = "model_not_configured"
    retryable = False
    caused_by_provider = False  # the deployment's configuration, not the model's health
    default_message = "The model is not configured on this deployment."


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    if not headers:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_status(status: int) -> type[ProviderError]:
    """The Parley error for an upstream HTTP status."""
    if status == 429:
        return ProviderRateLimited
    if status in (408, 504):
        return ProviderTimeout
    if status >= 500:  # includes Anthropic's 529 "overloaded"
        return ProviderUnavailable
    return ProviderRejected
