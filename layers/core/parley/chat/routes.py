"""Chat endpoints: Parley's SSE stream, the OpenAI-compatible API, the model list.

Everything that can fail before the first byte (auth, body, model, conversation ownership)
fails as a plain JSON error with its status; after that, failures are ``error`` events."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parley.chat.events import ChatEvent, Done, Failed, Token
from parley.chat.openai_compat import (
    VIRTUAL_MODELS,
    ChatCompletionRequest,
    CompletionChunkEncoder,
    completion_body,
)
from parley.chat.pipeline import ChatService
from parley.chat.schemas import ChatStreamRequest
from parley.chat.sse import SseEncoder
from parley.chat.transport import EventStreamResponse
from parley.chat.turns import turn_from_completion, turn_from_stream
from parley.http.auth import CurrentIdentity

__all__ = ["router"]

router = APIRouter(tags=["chat"])


def _service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat
    return service


@router.post("/v1/chat/stream", response_class=EventStreamResponse)
async def chat_stream(
    body: ChatStreamRequest, request: Request, identity: CurrentIdentity
) -> EventStreamResponse:
    """Stream an answer as Server-Sent Events: `meta`, `token`s, then `done` or `error`."""
    started = time.perf_counter()
    service = _service(request)
    prepared = await service.prepare(
        turn_from_stream(body, identity, request.state.request_id, started)
    )
    return EventStreamResponse(
        lambda emit: service.run(prepared, emit),
        SseEncoder(),
        heartbeat_seconds=request.app.state.settings.stream_heartbeat_seconds,
    )


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, identity: CurrentIdentity
) -> EventStreamResponse | JSONResponse:
    """OpenAI-compatible chat completions, streamed or not."""
    started = time.perf_counter()
    service = _service(request)
    prepared = await service.prepare(
        turn_from_completion(body, identity, request.state.request_id, started)
    )
    if body.stream:
        return EventStreamResponse(
            lambda emit: service.run(prepared, emit),
            CompletionChunkEncoder(include_usage=body.include_usage),
            heartbeat_seconds=request.app.state.settings.stream_heartbeat_seconds,
        )
    text: list[str] = []
    finished: list[ChatEvent] = []

    async def collect(event: ChatEvent) -> None:
        if isinstance(event, Token):
            text.append(event.text)
        elif isinstance(event, Done | Failed):
            finished.append(event)

    await service.run(prepared, collect)
    outcome = finished[-1]
    if isinstance(outcome, Failed):
        # Never an empty success: the call failed, so the response is that failure.
        raise outcome.error
    assert isinstance(outcome, Done)
    return JSONResponse(completion_body("".join(text), outcome))


@router.get("/v1/models")
async def list_models(request: Request, identity: CurrentIdentity) -> dict[str, Any]:
    """The catalog in OpenAI's list format, plus the virtual models `auto`, `cheap`, `smart`;
    `parley` says which models have their provider configured and what they cost."""
    service = _service(request)
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
                },
            }
        )
    return {"object": "list", "data": data}
