"""The JSON error body every failure uses: ``{"error": {"code", "message", "retryable"}}``,
and the header that marks an answer given again for an ``Idempotency-Key`` retry."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from parley.errors import ParleyError

__all__ = ["ERROR_RESPONSES", "REPLAYED_HEADERS", "ErrorBody", "error_body", "error_bytes"]

# On a response that is the stored result of an earlier request with the same key.
REPLAYED_HEADERS = {"Idempotent-Replayed": "true"}


class ErrorDetail(BaseModel):
    code: str
    message: str
    retryable: bool
    request_id: str | None = None
    details: Any = None


class ErrorBody(BaseModel):
    """Every refusal and failure, on every route (the OpenAPI document says so)."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: the error says why."},
    "5XX": {"model": ErrorBody, "description": "A failure of Parley or of what it depends on."},
}


def error_body(error: ParleyError, request_id: str | None = None) -> dict[str, Any]:
    body = error.body()
    if request_id:
        body["error"]["request_id"] = request_id
    return body


def error_bytes(error: ParleyError, request_id: str | None = None) -> bytes:
    return json.dumps(error_body(error, request_id), separators=(",", ":")).encode()
