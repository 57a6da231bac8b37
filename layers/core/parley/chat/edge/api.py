"""Chat endpoints: Parley's SSE stream, the OpenAI-compatible API, the model list.

Everything that can fail before the first byte (auth, body, model, conversation ownership)
fails as a plain JSON error with its status; after that, failures are ``error`` events."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from parley.auth.identity import Identity
from parley.chat.edge.collaborators import Chat, ChatCollaborators
from parley.chat.edge.completion_chunks import CompletionChunkEncoder, completion_body
from parley.chat.edge.completion_request import VIRTUAL_MODELS, ChatCompletionRequest
from parley.chat.edge.event_stream import EventStreamResponse
from parley.chat.edge.intake import turn_from_completion, turn_from_stream
from parley.chat.edge.sse import SseEncoder
from parley.chat.edge.stream_request import ChatStreamRequest
from parley.chat.events import ChatEvent, Done, Failed, Guarded, Meta, Token, ToolCalled
from parley.chat.idempotency.keyed_chat import IdempotentChat
from parley.chat.pipeline import ChatService
from parley.chat.turn import ChatTurn, Emit, PreparedChat
from parley.http.auth import CurrentIdentity
from parley.http.idempotency_key import IdempotencyKey
from parley.http.responses import REPLAYED_HEADERS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["router"]

router = APIRouter(tags=["chat"])

# A streamed answer is text/event-stream; FastAPI cannot see that from a response class that
# streams itself, so it is said here (and the status, which it would ask the class for).
_EVENT_STREAM = {
    "content": {
        "text/event-stream": {
            # One server-sent event: its `data` is JSON (docs/sse-protocol.md), or `[DONE]`.
            "schema": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "data": {"type": "string"}},
                "required": ["data"],
            }
        }
    }
}


@router.post(
    "/v1/chat/stream",
    response_class=EventStreamResponse,
    status_code=200,
    responses={200: {**_EVENT_STREAM, "description": "`meta`, `token`s, `done` or `error`."}},
)
async def chat_stream(
    body: ChatStreamRequest,
    request: Request,
    chat: Chat,
    identity: CurrentIdentity,
    idempotency_key: IdempotencyKey = None,
) -> EventStreamResponse:
    """Stream an answer as Server-Sent Events: `meta`, `token`s, then `done` or `error`.
    A retry with the same `Idempotency-Key` streams the first request's answer again."""
    started = time.perf_counter()
    service = chat.service
    keyed = await _begin(chat, identity, idempotency_key, "stream", body)
    heartbeat = chat.heartbeat_seconds
    if keyed.stored is not None:
        return EventStreamResponse(
            keyed.stored.replay, SseEncoder(), heartbeat_seconds=heartbeat, headers=REPLAYED_HEADERS
        )
    prepared = await _prepare(
        service, keyed, turn_from_stream(body, identity, request.state.request_id, started)
    )
    return EventStreamResponse(
        keyed.guard(lambda emit: service.run(prepared, emit)),
        SseEncoder(),
        heartbeat_seconds=heartbeat,
    )


@router.post(
    "/v1/chat/completions",
    response_model=None,
    status_code=200,
    responses={
        200: {
            "content": {"application/json": {}, **_EVENT_STREAM["content"]},
            "description": "A `chat.completion`, or with `stream: true` its chunks.",
        }
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    chat: Chat,
    identity: CurrentIdentity,
    idempotency_key: IdempotencyKey = None,
) -> EventStreamResponse | JSONResponse:
    """OpenAI-compatible chat completions, streamed or not."""
    started = time.perf_counter()
    service = chat.service
    keyed = await _begin(chat, identity, idempotency_key, "completions", body)
    run: Callable[[Emit], Awaitable[None]]
    headers = None
    if keyed.stored is not None:
        run, headers = keyed.stored.replay, REPLAYED_HEADERS
    else:
        prepared = await _prepare(
            service, keyed, turn_from_completion(body, identity, request.state.request_id, started)
        )
        run = keyed.guard(lambda emit: service.run(prepared, emit))
    if body.stream:
        return EventStreamResponse(
            run,
            CompletionChunkEncoder(
                include_usage=body.include_usage, legacy_functions=body.legacy_functions
            ),
            heartbeat_seconds=chat.heartbeat_seconds,
            headers=headers,
        )
    text: list[str] = []
    began: list[Meta] = []
    guarded: list[Guarded] = []
    calls: list[ToolCalled] = []
    finished: list[ChatEvent] = []

    async def collect(event: ChatEvent) -> None:
        if isinstance(event, Token):
            text.append(event.text)
        elif isinstance(event, ToolCalled):
            calls.append(event)
        elif isinstance(event, Meta):
            began.append(event)
        elif isinstance(event, Guarded):
            guarded.append(event)
        elif isinstance(event, Done | Failed):
            finished.append(event)

    await run(collect)
    outcome = finished[-1]
    if isinstance(outcome, Failed):
        # Never an empty success: the call failed, so the response is that failure.
        raise outcome.error
    assert isinstance(outcome, Done)
    answer = completion_body(
        began[0],
        "".join(text),
        outcome,
        guarded[0] if guarded else None,
        tool_calls=calls,
        legacy_functions=body.legacy_functions,
    )
    return JSONResponse(answer, headers=headers)


async def _begin(
    chat: ChatCollaborators, identity: Identity, key: str | None, endpoint: str, body: BaseModel
) -> IdempotentChat:
    return await IdempotentChat.begin(chat.idempotency, identity, key, endpoint=endpoint, body=body)


async def _prepare(service: ChatService, keyed: IdempotentChat, turn: ChatTurn) -> PreparedChat:
    try:
        return await service.prepare(turn)
    except BaseException:
        await keyed.release()  # refused before running: a retry may run
        raise


@router.get("/v1/models")
async def list_models(chat: Chat, identity: CurrentIdentity) -> dict[str, Any]:
    """The catalog in OpenAI's list format, plus the virtual models `auto`, `cheap`, `smart`;
    `parley` says which models have their provider configured and what they cost."""
    service = chat.service
    data: list[dict[str, Any]] = [
        {
            "id": name,
            "object": "model",
            "created": 0,
            "owned_by": "parley",
            "parley": {"virtual": True, "available": True},
        }
        for name in VIRTUAL_MODELS
    ]
    for spec in service.catalog.models:
        data.append(
            {
                "id": spec.name,
                "object": "model",
                "created": 0,
                "owned_by": spec.provider,
                "parley": {
                    "virtual": False,
                    "available": service.registry.is_available(spec),
                    "tier": spec.tier,
                    "context_window": spec.context_window,
                    "input_price_per_mtok": spec.input_price_per_mtok,
                    "output_price_per_mtok": spec.output_price_per_mtok,
                    "max_output_tokens": spec.max_output_tokens,
                    "capabilities": spec.capabilities.as_json(),
                },
            }
        )
    return {"object": "list", "data": data}
