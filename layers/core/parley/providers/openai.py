"""OpenAI through the official ``openai`` SDK; also any OpenAI-compatible server (vLLM,
Ollama, LM Studio, Groq...) given a base URL. The SDK is imported when this module is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx2
import openai

from parley.providers.base import Finish, GenerationRequest, Provider, TextDelta, Usage
from parley.providers.sdk_errors import stainless_failures, translate_stainless_error
from parley.providers.tokens import estimated_usage
from parley.providers.wire import a_count, a_list, an_object, optional_text

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from parley.providers.base import FinishReason, StreamEvent
    from parley.providers.catalog import ModelSpec
    from parley.providers.timeouts import ProviderTimeouts

__all__ = ["OpenAIProvider"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
}


class OpenAIProvider(Provider):
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        timeouts: ProviderTimeouts,
        compatible: bool = False,
    ) -> None:
        self.name = "openai_compatible" if compatible else "openai"
        self._compatible = compatible
        self._failures = stainless_failures(openai)
        # Retries are Parley's own (failover across providers), never the SDK's.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            max_retries=0,
            timeout=httpx2.Timeout(timeouts.read_seconds, connect=timeouts.connect_seconds),
        )

    async def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        try:
            # The SDK's generic request (its documented way to call any endpoint) with chunks
            # left as dicts: the typed create() builds a pydantic model per chunk and
            # transforms the params per call, milliseconds of CPU a gateway should not spend.
            stream = await self._client.post(
                "/chat/completions",
                cast_to=object,
                body=self._arguments(spec, request),
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
        except self._failures as exc:
            raise translate_stainless_error(
                exc, openai, provider=self.name, model=spec.name
            ) from exc
        usage: dict[str, Any] | None = None
        finish_reason: str | None = None
        produced: list[str] = []
        try:
            async with stream:
                async for raw in stream:
                    chunk = an_object(raw, "a chunk")
                    if chunk.get("usage"):
                        usage = an_object(chunk["usage"], "usage")
                    for entry in a_list(chunk.get("choices"), "choices")[:1]:
                        choice = an_object(entry, "a choice")
                        delta = an_object(choice.get("delta") or {}, "a delta")
                        content = optional_text(delta.get("content"), "content")
                        if content:
                            produced.append(content)
                            yield TextDelta(content)
                        reason = optional_text(choice.get("finish_reason"), "finish_reason")
                        finish_reason = reason or finish_reason
            if usage is not None:
                measured = Usage(
                    a_count(usage.get("prompt_tokens"), "prompt_tokens"),
                    a_count(usage.get("completion_tokens"), "completion_tokens"),
                )
            else:  # some compatible servers ignore stream_options
                measured = estimated_usage(request, produced)
        except self._failures as exc:
            raise translate_stainless_error(
                exc, openai, provider=self.name, model=spec.name
            ) from exc
        yield Finish(_FINISH.get(finish_reason or "stop", "other"), measured)

    def _arguments(self, spec: ModelSpec, request: GenerationRequest) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        arguments: dict[str, Any] = {
            "model": spec.model,
            "messages": messages,
            "stream": True,
            # Without this OpenAI sends no usage in a stream.
            "stream_options": {"include_usage": True},
        }
        # OpenAI deprecated max_tokens for max_completion_tokens; most compatible servers
        # (vLLM, Ollama) still only know max_tokens.
        arguments["max_tokens" if self._compatible else "max_completion_tokens"] = (
            request.max_tokens
        )
        if request.temperature is not None:
            arguments["temperature"] = request.temperature
        if request.json_object and not self._compatible:
            # Not for compatible servers: one that does not know the parameter would refuse
            # every such request, and the prompt asks for the JSON anyway.
            arguments["response_format"] = {"type": "json_object"}
        return arguments

    async def aclose(self) -> None:
        await self._client.close()
