"""A loopback server that answers like OpenAI, Anthropic and Gemini, driven by ``Script``s.

    POST /v1/chat/completions                      OpenAI     (Authorization: Bearer …)
    POST /v1/messages                              Anthropic  (x-api-key, or Bearer as 2.12 sends)
    POST /{version}/models/{model}:generateContent        Gemini  (x-goog-api-key or ?key=)
    POST /{version}/models/{model}:streamGenerateContent

Each official SDK talks to it unchanged, given the matching ``*_base_url``. Scripts are keyed by
model name, so tests sharing one server isolate themselves with model names of their own. The
wire formats live in ``openai_wire``, ``anthropic_wire`` and ``gemini_wire``; this module plays a
script through one of them and injects the faults, the same way for every provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.anthropic_wire import AnthropicReply
from tests.fakes.gemini_wire import GeminiReply
from tests.fakes.openai_wire import OpenAIReply
from tests.fakes.scripts import FakeToolCall, RecordedRequest, Reply, Script, ScriptBook
from tests.support.servers import free_port, wait_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

__all__ = ["FakeToolCall", "FakeUpstream", "RecordedRequest", "Script"]


class DroppedConnection(Exception):
    """Raised inside a streaming body: uvicorn then closes the socket mid-response, so the
    client sees a chunked body that never ends cleanly."""


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for every connection the fake drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


class FakeUpstream:
    """One loopback HTTP server speaking OpenAI's, Anthropic's and Gemini's APIs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[RecordedRequest] = []
        # Models whose stream the client abandoned before its end (Parley cancelling upstream).
        self.abandoned: list[str] = []
        self._scripts = ScriptBook()
        self._stopping = threading.Event()
        self._quiet = _QuietDrops()
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/{version}/models/{target}", self._gemini, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,  # leave the process's logging alone; pytest captures the rest
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-upstream", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def gemini_base_url(self) -> str:
        return self.url

    def start(self) -> FakeUpstream:
        logging.getLogger("uvicorn.error").addFilter(self._quiet)
        self._thread.start()
        wait_until(lambda: self._server.started, what="fake upstream")
        return self

    def stop(self) -> None:
        """Ends stalls and delays at once (their streams are dropped), then shuts down."""
        self._stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        logging.getLogger("uvicorn.error").removeFilter(self._quiet)

    def script(self, model: str, *scripts: Script) -> None:
        """Queue scripts for requests naming ``model``; the last one repeats."""
        self._scripts.add(model, scripts)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.model == model]

    async def _openai(self, request: Request) -> Response:
        body = await _json(request)
        model, stream = str(body.get("model", "")), bool(body.get("stream"))
        authorized = _bearer(request)
        return await self._answer(
            request, OpenAIReply, model, body, stream=stream, authorized=authorized
        )

    async def _anthropic(self, request: Request) -> Response:
        body = await _json(request)
        model, stream = str(body.get("model", "")), bool(body.get("stream"))
        authorized = "x-api-key" in request.headers or _bearer(request)
        return await self._answer(
            request, AnthropicReply, model, body, stream=stream, authorized=authorized
        )

    async def _gemini(self, request: Request) -> Response:
        body = await _json(request)
        model, _, method = str(request.path_params["target"]).rpartition(":")
        authorized = "x-goog-api-key" in request.headers or "key" in request.query_params
        if method not in ("generateContent", "streamGenerateContent"):
            error = {"code": 404, "message": f"Unknown method {method}", "status": "NOT_FOUND"}
            return JSONResponse({"error": error}, status_code=404)
        stream = method == "streamGenerateContent"
        return await self._answer(
            request, GeminiReply, model, body, stream=stream, authorized=authorized
        )

    async def _answer(
        self,
        request: Request,
        kind: type[Reply],
        model: str,
        body: Any,
        *,
        stream: bool,
        authorized: bool,
    ) -> Response:
        self.requests.append(
            RecordedRequest(
                provider=kind.provider,
                model=model,
                path=request.url.path,
                query=request.url.query,
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
            )
        )
        script = self._scripts.take(model)
        reply = kind(model, body, script)
        if not authorized:
            return JSONResponse(reply.error(401), status_code=401)
        if script.http_status is not None:
            headers = {}
            if script.retry_after is not None:
                headers["Retry-After"] = f"{script.retry_after:g}"
            return JSONResponse(reply.error(script.http_status), script.http_status, headers)
        refused = reply.refusal()
        if refused is not None:
            status, refusal = refused
            return JSONResponse(refusal, status_code=status)
        if not stream:
            pause = script.first_chunk_delay + script.chunk_delay * max(0, len(script.chunks) - 1)
            if script.stall_after is not None:
                pause += script.stall_seconds
            await self._pause(pause)
            return JSONResponse(reply.whole())
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(self._watch(reply), media_type=reply.media_type, headers=headers)

    async def _watch(self, reply: Reply) -> AsyncIterator[bytes]:
        """``_play``, noting in ``abandoned`` a stream the client left before its end."""
        play = self._play(reply)
        try:
            async for event in play:
                yield event
        except (GeneratorExit, asyncio.CancelledError):
            self.abandoned.append(reply.model)
            raise
        finally:
            await play.aclose()

    async def _play(self, reply: Reply) -> AsyncIterator[bytes]:
        """The stream for one request; at each point "after N chunks" the faults fire in the
        order malformed event, stall, in-band error (ends the stream), dropped connection."""
        script = reply.script
        for event in reply.head():
            yield event
        chunks = script.chunks
        for sent in range(len(chunks) + 1):
            if script.malformed_after == sent:
                yield reply.malformed()
            if script.misshapen_after == sent:
                yield reply.misshapen()
            if script.stall_after == sent:
                await self._pause(script.stall_seconds)
            if script.error_after == sent:
                yield reply.in_band_error()
                return
            if script.cut_after == sent:
                raise DroppedConnection(f"cut after {sent} chunks")
            if sent == len(chunks):
                break
            await self._pause(script.first_chunk_delay if sent == 0 else script.chunk_delay)
            yield reply.delta(chunks[sent])
        if script.cut_in_tool_call is not None:
            for event in reply.tool_events(cut_after=script.cut_in_tool_call):
                yield event
            raise DroppedConnection("cut inside a tool call's arguments")
        for event in reply.tool_events():
            yield event
        for event in reply.tail():
            yield event

    async def _pause(self, seconds: float) -> None:
        """Sleeps, but gives up (dropping the connection) as soon as the server is stopping,
        so that ``stop()`` never waits out a 30-second stall."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            if self._stopping.is_set():
                raise DroppedConnection("the fake upstream is stopping")
            await asyncio.sleep(min(remaining, 0.05))


def _bearer(request: Request) -> bool:
    return request.headers.get("authorization", "").startswith("Bearer ")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
