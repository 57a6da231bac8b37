"""The JSON error body every failure uses: ``{"error": {"code", "message", "retryable"}}``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.errors import ParleyError

__all__ = ["error_body", "error_bytes"]


def error_body(error: ParleyError, request_id: str | None = None) -> dict[str, Any]:
    body = error.body()
    if request_id:
        body["error"]["request_id"] = request_id
    return body


def error_bytes(error: ParleyError, request_id: str | None = None) -> bytes:
    return json.dumps(error_body(error, request_id), separators=(",", ":")).encode()
