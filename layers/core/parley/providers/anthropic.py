"""Anthropic through the official ``anthropic`` SDK (Messages API, named stream events)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anthropic
import httpx2

from parley.providers.base import Finish, GenerationRequest, Provider, TextDelta, Usage
from parley.providers.messages import alternating_turns
from parley.providers.sdk_errors import stainless_failures, translate_stainless_error
from parley.providers.tokens import estimated_usage
from parley.providers.wire import a_count, an_object, optional_text

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from parley.providers.base import FinishReason, StreamEvent
    from parley.providers.catalog import ModelSpec
    from parley.providers.timeouts import ProviderTimeouts

__all__ = ["AnthropicProvider"]

_FAILURES = stainless_failures(anthropic)

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
}


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None, timeouts: ProviderTimeouts) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=httpx2.Timeout(timeouts.read_seconds, connect=timeouts.connect_seconds),
        )

    async def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        try:
            # The SDK's generic request with events left as dicts (see the OpenAI adapter).
            stream = await self._client.post(
                "/v1/messages",
                cast_to=object,
                body=_arguments(spec, request),
                stream=True,
                stream_cls=anthropic.AsyncStream[object],
            )
        except _FAILURES as exc:
            raise translate_stainless_error(
                exc, anthropic, provider=self.name, model=spec.name
            ) from exc
        input_tokens: int | None = None
        output_tokens: int | None = None
        stop_reason: str | None = None
        produced: list[str] = []
        try:
            async with stream:
                async for raw in stream:
                    event = an_object(raw, "an event")
                    kind = event.get("type")
                    if kind == "content_block_delta":
                        delta = an_object(event.get("delta") or {}, "a delta")
                        text = optional_text(delta.get("text"), "text")
                        if delta.get("type") == "text_delta" and text:
                            produced.append(text)
                            yield TextDelta(text)
                    elif kind == "message_start":
                        message = an_object(event.get("message") or {}, "a message")
                        input_tokens = _input_tokens(message.get("usage"))
                    elif kind == "message_delta":
                        delta = an_object(event.get("delta") or {}, "a delta")
                        reason = optional_text(delta.get("stop_reason"), "stop_reason")
                        stop_reason = reason or stop_reason
                        reported = an_object(event.get("usage") or {}, "usage")
                        if reported.get("output_tokens") is not None:
                            output_tokens = a_count(reported["output_tokens"], "output_tokens")
        except _FAILURES as exc:
            raise translate_stainless_error(
                exc, anthropic, provider=self.name, model=spec.name
            ) from exc
        if input_tokens is None or output_tokens is None:
            usage = estimated_usage(request, produced)
        else:
            usage = Usage(input_tokens, output_tokens)
        yield Finish(_FINISH.get(stop_reason or "end_turn", "other"), usage)

    async def aclose(self) -> None:
        await self._client.close()


def _arguments(spec: ModelSpec, request: GenerationRequest) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "model": spec.model,
        "max_tokens": request.max_tokens,  # required by the Messages API
        "messages": [
            {"role": turn.role, "content": turn.content}
            for turn in alternating_turns(request.messages)
        ],
        "stream": True,
    }
    if request.system:
        arguments["system"] = request.system
    # No temperature: the current Messages API (SDK 2.x) no longer takes sampling parameters.
    return arguments


def _input_tokens(reported: Any) -> int | None:
    if not reported:
        return None
    usage = an_object(reported, "usage")
    if usage.get("input_tokens") is None:
        return None
    # Cached prompt tokens are billed too, apart from input_tokens.
    return sum(
        a_count(usage.get(name), name)
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
