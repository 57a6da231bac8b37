"""Pure ASGI middleware: request ids and access logs, the last line of error handling, and the
request body's checks (its size, and a JSON body's validity). Pure ASGI (not
BaseHTTPMiddleware) so streamed responses pass through untouched, chunk by chunk."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from parley.errors import ParleyError, PayloadTooLarge, ValidationFailed
from parley.http.json_body import check_json_body, is_json_media_type
from parley.http.responses import error_bytes
from parley.ids import new_id
from parley.telemetry import clear_request_keys, logger, start_request_keys

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware", "RequestContextMiddleware", "send_error"]

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


async def send_error(send: Send, error: ParleyError, request_id: str | None = None) -> None:
    body = error_bytes(error, request_id)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers().items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Gives each request an id (the client's ``X-Request-Id`` when it is sane), puts it on every
    log line and on the response, writes one access-log line, and turns any exception that
    escapes the app into a JSON 500 without a stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _client_request_id(scope) or new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        start_request_keys(request_id=request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 (the last line of defence: log it, answer JSON)
            logger.exception("Unhandled error")
            if status == 0:  # Nothing sent yet: the client still gets a proper error body.
                status = 500
                await send_error(send_with_id, ParleyError(), request_id)
        finally:
            logger.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            clear_request_keys()


class BodyLimitMiddleware:
    """Reads each request body whole before the app sees it: refuses one over ``max_bytes``
    with 413 (a declared Content-Length at once; a chunked body as soon as it passes the
    limit), refuses a JSON body that is not standard JSON with valid text with 422
    (``parley.http.json_body``), then replays the body to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await send_error(send, self._too_large(), request_id)
            return

        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # The client went away; the app will see that on its own receive.
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_error(send, self._too_large(), request_id)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)

        content_type = _header(scope, b"content-type")
        if body and content_type is not None and is_json_media_type(content_type):
            try:
                check_json_body(body)
            except ValidationFailed as error:
                await send_error(send, error, request_id)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes.")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _client_request_id(scope: Scope) -> str | None:
    value = _header(scope, b"x-request-id")
    return value if value and _CLIENT_REQUEST_ID.match(value) else None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value and value.isdigit() else None
