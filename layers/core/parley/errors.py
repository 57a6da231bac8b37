"""Parley's one error hierarchy.

Every error a client can see is a ``ParleyError``: it carries its HTTP status, a stable public
``code`` and whether retrying may help. Third-party exceptions are translated into these at the
boundary where they happen (``raise ... from exc``), never matched by their message text.

    ParleyError (500 internal_error)
    ├── ConfigurationError (500 configuration_error)
    ├── BadRequest (400 bad_request)
    ├── Unauthorized (401 unauthorized)
    ├── PaymentRequired (402 insufficient_balance)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    ├── PreconditionFailed (412 precondition_failed)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── ValidationFailed (422 invalid_request)
    ├── RateLimited (429 rate_limited, always with Retry-After)
    └── UpstreamError (502 upstream_error)
        ├── ServiceUnavailable (503 service_unavailable)
        └── UpstreamTimeout (504 upstream_timeout)
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "ParleyError",
    "PayloadTooLarge",
    "PaymentRequired",
    "PreconditionFailed",
    "RateLimited",
    "ServiceUnavailable",
    "Unauthorized",
    "UpstreamError",
    "UpstreamTimeout",
    "ValidationFailed",
]


class ParleyError(Exception):
    """Base of every error Parley reports to a client."""

    status: int = 500
    code: str = "internal_error"
    retryable: bool = False
    default_message: str = "Something went wrong on our side."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        # Seconds the client should wait before retrying; sent as Retry-After when set.
        self.retry_after = retry_after
        # Per-instance overrides let the boundary carry a status it did not choose, e.g. a
        # framework's 405, without a subclass per status.
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self._headers = dict(headers or {})
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        """Extra response headers this error needs (e.g. Retry-After)."""
        headers = dict(self._headers)
        if self.retry_after is not None:
            # Retry-After takes whole seconds; round up, and never tell a client to retry at once.
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class ConfigurationError(ParleyError):
    code = "configuration_error"
    default_message = "Parley is not configured correctly."


class BadRequest(ParleyError):
    status = 400
    code = "bad_request"
    default_message = "The request is not valid."


class Unauthorized(ParleyError):
    status = 401
    code = "unauthorized"
    default_message = "A valid bearer token is required."

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": 'Bearer error="invalid_token"'}


class PaymentRequired(ParleyError):
    status = 402
    code = "insufficient_balance"
    default_message = "The organisation's balance is too low for this request."


class Forbidden(ParleyError):
    status = 403
    code = "forbidden"
    default_message = "This token may not do that."


class NotFound(ParleyError):
    status = 404
    code = "not_found"
    default_message = "Nothing here."


class Conflict(ParleyError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class PreconditionFailed(ParleyError):
    status = 412
    code = "precondition_failed"
    default_message = "The resource changed since it was read."


class PayloadTooLarge(ParleyError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class ValidationFailed(ParleyError):
    status = 422
    code = "invalid_request"
    default_message = "The request body is not valid."


class RateLimited(ParleyError):
    status = 429
    code = "rate_limited"
    retryable = True
    default_message = "Too many requests."

    def __init__(
        self, message: str | None = None, *, retry_after: float = 1.0, details: Any = None
    ) -> None:
        super().__init__(message, details=details, retry_after=retry_after)


class UpstreamError(ParleyError):
    status = 502
    code = "upstream_error"
    retryable = True
    default_message = "An upstream service failed."


class ServiceUnavailable(UpstreamError):
    status = 503
    code = "service_unavailable"
    default_message = "A service Parley depends on is unavailable."


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"
    default_message = "An upstream service did not answer in time."
