"""Calling an ASGI app in-process with httpx, for tests of one app's HTTP behaviour.

httpx's own ``ASGITransport`` collects the whole body before it returns a response, and never
tells the app that its client left, so a test of an event stream would see no heartbeat in
time and could not leave early. ``StreamingASGITransport`` hands each body chunk to the client
as the app sends it, and closing the response early is a disconnect, as with a real server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httpx

from parley.auth import mint_token
from parley.config import DEV_JWT_SECRET

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping

    Message = MutableMapping[str, Any]
    App = Callable[
        [dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
        Awaitable[None],
    ]

__all__ = ["BASE_URL", "StreamingASGITransport", "bearer", "client_for", "streaming_client_for"]

BASE_URL = "http://parley.test"
_log = logging.getLogger(__name__)


def client_for(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


def streaming_client_for(app: object) -> httpx.AsyncClient:
    """A client whose responses stream from ``app`` as it sends them."""
    transport = StreamingASGITransport(app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


def bearer(
    user_id: str = "user-1", *, org_id: str | None = None, scopes: str = ""
) -> dict[str, str]:
    token = mint_token(DEV_JWT_SECRET, user_id=user_id, org_id=org_id, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Each request runs the app in a task of its own; ``aclose`` waits for them all, so no
    app outlives the client that called it (a disconnected one finishes what it does then,
    storing a partial reply, say, as it would behind a server)."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._running: dict[asyncio.Task[None], _Exchange] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange(await request.aread())
        task = asyncio.create_task(exchange.run(self._app, _scope(request)))
        self._running[task] = exchange
        task.add_done_callback(lambda done: self._running.pop(done, None))
        start = await exchange.messages.get()
        if start is None:  # the app ended without answering, as a server sees it
            return httpx.Response(500, text="Internal Server Error")
        return httpx.Response(
            start["status"], headers=start.get("headers", []), stream=_Body(exchange)
        )

    async def aclose(self) -> None:
        # A response nobody closed is a client gone too: its app must not wait for it.
        for exchange in self._running.values():
            exchange.disconnected.set()
        if self._running:
            await asyncio.gather(*self._running)


class _Exchange:
    """One request and its response: what the app sends, queued for the client to read."""

    def __init__(self, body: bytes) -> None:
        self.messages: asyncio.Queue[Message | None] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self._body: bytes | None = body

    async def run(self, app: App, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self._receive, self._send)
        except Exception:  # noqa: BLE001 - as a server: log it, end the response
            # The client sees what was sent (the app's own 500, when it sent one).
            _log.exception("Exception in ASGI application")
        finally:
            self.messages.put_nowait(None)

    async def _receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if not self.disconnected.is_set():  # as uvicorn: what a gone client misses is dropped
            self.messages.put_nowait(message)


class _Body(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange) -> None:
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (message := await self._exchange.messages.get()) is not None:
            if message["type"] != "http.response.body":
                continue
            if body := message.get("body", b""):
                yield body
            if not message.get("more_body", False):
                return

    async def aclose(self) -> None:
        # Closing before the end is the client leaving; after it, nothing is listening.
        self._exchange.disconnected.set()


def _scope(request: httpx.Request) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},  # as uvicorn says
        "http_version": "1.1",
        "method": request.method,
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "scheme": request.url.scheme,
        "path": request.url.path,
        "raw_path": request.url.raw_path.split(b"?")[0],
        "query_string": request.url.query,
        "server": (request.url.host, request.url.port),
        "client": ("127.0.0.1", 123),
        "root_path": "",
    }
