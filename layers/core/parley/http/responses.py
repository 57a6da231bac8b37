"""The JSON error body every failure uses: ``{"error": {"code", "message", "retryable"}}``,
and the header that marks an answer given again for an ``Idempotency-Key`` retry."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.errors import ParleyError

__all__ = ["REPLAYED_HEADERS", "error_body", "error_bytes"]

# On a response that is the stored result of an earlier request with the same key.
REPLAYED_HEADERS = {"Idempotent-Replayed": "true"}


def error_body(error: ParleyError, request_id: str | None = None) -> dict[str, Any]:
    body = error.body()
    if request_id:
        body["error"]["request_id"] = request_id
    return body


def error_bytes(error: ParleyError, request_id: str | None = None) -> bytes:
    return json.dumps(error_body(error, request_id), separators=(",", ":")).encode()
