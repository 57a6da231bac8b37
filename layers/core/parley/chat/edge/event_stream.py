"""Streaming a chat over HTTP: an ASGI response that runs the pipeline and writes each event
the moment it is emitted.

Three tasks share one response: the pipeline, a watcher that notices the client leaving (and
cancels the pipeline, which cancels the upstream call), and a heartbeat that writes a comment
when nothing else was written for a while, so proxies keep idle connections open.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Protocol

from starlette.responses import Response

from parley.chat.events import ChatEvent, ClientGone, Failed
from parley.errors import ParleyError
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.types import Message, Receive, Scope, Send

    from parley.chat.turn import Emit

__all__ = ["EventEncoder", "EventStreamResponse"]


class EventEncoder(Protocol):
    media_type: str

    def encode(self, event: ChatEvent) -> bytes: ...

    def ping(self) -> bytes: ...

    def end(self, completed: bool) -> bytes: ...


class _Writer:
    """Serialises writes from the pipeline and the heartbeat onto one ``send``."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._lock = asyncio.Lock()
        self.last_write = asyncio.get_running_loop().time()

    async def write(self, data: bytes, *, more: bool = True) -> None:
        async with self._lock:
            message: Message = {"type": "http.response.body", "body": data, "more_body": more}
            try:
                await self._send(message)
            except OSError as exc:  # uvicorn's ClientDisconnected is an OSError
                raise ClientGone from exc
            self.last_write = asyncio.get_running_loop().time()


class EventStreamResponse(Response):
    def __init__(
        self,
        run: Callable[[Emit], Awaitable[None]],
        encoder: EventEncoder,
        *,
        heartbeat_seconds: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        # As StreamingResponse does: no body, so init_headers sets no Content-Length.
        self.status_code = 200
        self.media_type = encoder.media_type
        self.background = None
        # no-cache and X-Accel-Buffering: no intermediary may hold tokens back.
        self.init_headers(
            {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})}
        )
        self._run = run
        self._encoder = encoder
        self._heartbeat_seconds = heartbeat_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        writer = _Writer(send)

        async def emit(event: ChatEvent) -> None:
            data = self._encoder.encode(event)
            if data:  # an encoder writes nothing for events its format has no place for
                await writer.write(data)

        producer = asyncio.ensure_future(self._run(emit))
        watcher = asyncio.ensure_future(_until_disconnect(receive))
        heartbeat = asyncio.ensure_future(self._beat(writer))
        try:
            await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not producer.done():
                producer.cancel()  # the client left: stop generating
            (outcome,) = await asyncio.gather(producer, return_exceptions=True)
        finally:
            watcher.cancel()
            heartbeat.cancel()
        if isinstance(outcome, asyncio.CancelledError | ClientGone):
            return  # nobody to finish the response for
        if isinstance(outcome, BaseException):
            logger.error("Chat stream failed", exc_info=outcome)
            await self._try_write(writer, self._encoder.encode(Failed(ParleyError())))
            await self._try_write(writer, self._encoder.end(False), more=False)
            return
        await self._try_write(writer, self._encoder.end(True), more=False)

    async def _beat(self, writer: _Writer) -> None:
        loop = asyncio.get_running_loop()
        while True:
            delay = writer.last_write + self._heartbeat_seconds - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            try:
                await writer.write(self._encoder.ping())
            except ClientGone:
                return

    @staticmethod
    async def _try_write(writer: _Writer, data: bytes, *, more: bool = True) -> None:
        with contextlib.suppress(ClientGone):
            await writer.write(data, more=more)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
