"""The ``Idempotency-Key`` request header (draft-ietf-httpapi-idempotency-key-header): what a
key may be, and the two refusals every endpoint that takes one answers with.

A key is opaque: 1-255 printable ASCII characters, compared as sent (a UUID, or the draft's
quoted form). The same key with a different request is the client's mistake (422, the draft's
status for a reused key with another payload); a retry while the first request is still being
processed is a 409 Conflict, retryable, with Retry-After. Chat (``parley.chat.idempotency.store``)
and feedback (``parley.feedback.idempotency``) keep their answers differently; the header and
its errors are these, for both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from parley.errors import Conflict, ValidationFailed

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MAX_KEY_LENGTH",
    "IdempotencyInProgress",
    "IdempotencyKey",
    "IdempotencyKeyReused",
    "validate_idempotency_key",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# The header as a route parameter; validate it with ``validate_idempotency_key``.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Retry-safe key: a retry with the same key and body gets the first "
        "request's result.",
    ),
]


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    retryable = True
    default_message = (
        "A request with this Idempotency-Key is still being processed; retry shortly to get "
        "its result."
    )

    def __init__(self, message: str | None = None, *, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    default_message = (
        "This Idempotency-Key was already used with a different request; use a new key for a "
        "new request."
    )


def validate_idempotency_key(value: str) -> str:
    """The header value when it is 1-255 printable ASCII characters, else ValidationFailed."""
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"The {IDEMPOTENCY_HEADER} header must be 1 to {MAX_KEY_LENGTH} characters long."
        )
    if not all(" " <= char <= "~" for char in value):
        raise ValidationFailed(
            f"The {IDEMPOTENCY_HEADER} header may contain only printable ASCII characters."
        )
    return value
