"""Exception handlers: every error leaves as the JSON body in ``parley.http.responses``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.errors import ParleyError
from parley.http.responses import error_body
from parley.validation import validation_failed

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

__all__ = ["install_error_handlers"]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _respond(request: Request, error: ParleyError) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    return JSONResponse(
        error_body(error, request_id), status_code=error.status, headers=error.headers()
    )


async def _parley_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ParleyError)
    return _respond(request, exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unknown routes, wrong methods and other framework refusals, in Parley's shape."""
    assert isinstance(exc, StarletteHTTPException)
    error = ParleyError(
        exc.detail if isinstance(exc.detail, str) else None,
        status=exc.status_code,
        code=_HTTP_CODES.get(exc.status_code, "http_error"),
        headers=dict(exc.headers or {}),
    )
    return _respond(request, error)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _respond(request, validation_failed(exc.errors()))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ParleyError, _parley_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
