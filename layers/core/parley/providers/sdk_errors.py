"""Translating the SDKs' exceptions into ``ProviderError``s.

The openai and anthropic SDKs share one generated structure (``APIStatusError`` with a status
and response, ``APIConnectionError``, ``APITimeoutError``, ``APIError`` for in-band errors);
google-genai raises ``errors.APIError`` with a code, and ``UnknownApiResponseError`` for what
it cannot read. All three read streams with httpx2, whose transport errors can escape
mid-stream unwrapped, and decode JSON, whose errors can too.

Only those are translated (``stainless_failures``, ``gemini_failures``): what the provider, the
network or the SDK did. Anything else an adapter raises is a bug in Parley's own code, and it
stays one: logged, a 500, never a retryable provider error that failover would quietly hide
by trying the next model (and count against the model's health).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx2

from parley.providers.errors import (
    ProviderError,
    ProviderRequestInvalid,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
    error_for_status,
    retry_after_seconds,
)
from parley.providers.wire import MalformedStream

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "gemini_failures",
    "stainless_failures",
    "translate_gemini_error",
    "translate_stainless_error",
]

# What any SDK's stream can fail with that is not the SDK's own error type: the HTTP client's
# transport and timeout errors, JSON that does not decode, the request's text that does not
# encode, and a chunk of the wrong shape (parley.providers.wire).
_ANY_SDK: tuple[type[BaseException], ...] = (
    httpx2.HTTPError,
    TimeoutError,
    json.JSONDecodeError,
    UnicodeEncodeError,
    MalformedStream,
)


def stainless_failures(sdk: ModuleType) -> tuple[type[BaseException], ...]:
    """What the openai or anthropic SDK (``sdk``, the imported module) fails with."""
    return (sdk.APIError, *_ANY_SDK)


def gemini_failures() -> tuple[type[BaseException], ...]:
    from google.genai import errors as genai_errors

    return (genai_errors.APIError, genai_errors.UnknownApiResponseError, *_ANY_SDK)


def translate_stainless_error(
    exc: BaseException, sdk: ModuleType, *, provider: str, model: str
) -> ProviderError:
    """For the openai and anthropic SDKs (``sdk`` is the imported module)."""
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderTimeout(
            f"{provider} did not answer in time.", provider=provider, model=model
        )
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderUnavailable(f"Could not reach {provider}.", provider=provider, model=model)
    if isinstance(exc, sdk.APIStatusError):
        status = int(exc.status_code)
        if status < 400:  # anthropic raises an in-band `error` event with the stream's 200
            return _in_band(exc.message, provider=provider, model=model)
        return _status_error(status, exc.message, exc.response, provider=provider, model=model)
    if isinstance(exc, sdk.APIError):  # an error event inside a 200 stream
        return _in_band(exc.message, provider=provider, model=model)
    return _transport(exc, provider=provider, model=model)


def translate_gemini_error(exc: BaseException, *, provider: str, model: str) -> ProviderError:
    from google.genai import errors as genai_errors

    if isinstance(exc, genai_errors.APIError):
        status = int(exc.code or 0)
        message = exc.message or exc.status or ""
        if status in {0, 200}:
            return _in_band(message, provider=provider, model=model)
        response = getattr(exc, "response", None)
        return _status_error(status, message, response, provider=provider, model=model)
    return _transport(exc, provider=provider, model=model)


def _status_error(
    status: int, message: object, response: Any, *, provider: str, model: str
) -> ProviderError:
    return error_for_status(status)(
        f"{provider} answered {status}: {_short(message)}",
        provider=provider,
        model=model,
        upstream_status=status,
        retry_after=retry_after_seconds(_headers(response)),
    )


def _in_band(message: object, *, provider: str, model: str) -> ProviderError:
    return ProviderStreamError(
        f"{provider} reported an error mid-stream: {_short(message)}",
        provider=provider,
        model=model,
    )


def _transport(exc: BaseException, *, provider: str, model: str) -> ProviderError:
    """A failure of the HTTP client, of decoding, or of a stream's shape (``_ANY_SDK``)."""
    kind: type[ProviderError]
    if isinstance(exc, UnicodeEncodeError):
        # Only the request is encoded (a response is decoded): the request held text that is
        # not valid Unicode, and the SDK could not send it. Not the provider's failure.
        message = f"The request to {provider} held text that cannot be sent."
        kind = ProviderRequestInvalid
    elif isinstance(exc, httpx2.TimeoutException | TimeoutError):
        message, kind = f"{provider} did not answer in time.", ProviderTimeout
    elif isinstance(exc, httpx2.ConnectError):
        message, kind = f"Could not reach {provider}.", ProviderUnavailable
    elif isinstance(exc, httpx2.HTTPError):
        message, kind = f"The connection to {provider} broke off.", ProviderStreamError
    else:  # JSON that does not decode, a chunk of the wrong shape, what an SDK cannot read
        message, kind = f"{provider} sent a malformed stream.", ProviderStreamError
    return kind(message, provider=provider, model=model)


def _headers(response: Any) -> dict[str, str] | None:
    headers = getattr(response, "headers", None)
    return {k.lower(): v for k, v in headers.items()} if headers is not None else None


def _short(message: object, limit: int = 300) -> str:
    text = str(message or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
