"""Google Gemini through ``google-genai``, the maintained successor of the
``google-generativeai`` package (end of life in 2025). Developer API with an API key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google import genai
from google.genai import types

from parley.providers.base import Finish, GenerationRequest, Provider, TextDelta, Usage
from parley.providers.messages import alternating_turns
from parley.providers.sdk_errors import translate_gemini_error
from parley.providers.tokens import estimated_usage

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from parley.providers.base import FinishReason, StreamEvent
    from parley.providers.catalog import ModelSpec
    from parley.providers.timeouts import ProviderTimeouts

__all__ = ["GeminiProvider"]

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "BLOCKLIST": "content_filter",
    "SPII": "content_filter",
}


class GeminiProvider(Provider):
    name = "gemini"

    def __init__(self, *, api_key: str, base_url: str | None, timeouts: ProviderTimeouts) -> None:
        # google-genai takes one timeout, in milliseconds, for each read; attempts=1 turns off
        # its retries (Parley fails over itself).
        options = types.HttpOptions(
            base_url=base_url,
            timeout=int(timeouts.read_seconds * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=api_key, http_options=options)

    async def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        produced: list[str] = []
        finish_reason: str | None = None
        usage: Any = None
        stream: Any = None
        try:
            stream = await self._client.aio.models.generate_content_stream(
                model=spec.model, contents=_contents(request), config=_config(request)
            )
            async for chunk in stream:
                if chunk.usage_metadata is not None:
                    usage = chunk.usage_metadata
                for candidate in (chunk.candidates or [])[:1]:
                    if candidate.content is not None:
                        for part in candidate.content.parts or []:
                            # Thinking models stream their thoughts as parts too: not the answer.
                            if part.text and not part.thought:
                                produced.append(part.text)
                                yield TextDelta(part.text)
                    if candidate.finish_reason is not None:
                        finish_reason = str(candidate.finish_reason.value)
        except Exception as exc:
            raise translate_gemini_error(exc, provider=self.name, model=spec.name) from exc
        finally:
            # The SDK hands back an async generator: close it now, not whenever it is
            # collected, so that a consumer that stops early also ends the HTTP request.
            if stream is not None and hasattr(stream, "aclose"):
                await stream.aclose()
        yield Finish(
            _FINISH.get(finish_reason or "STOP", "other"), _usage(usage, request, produced)
        )

    async def aclose(self) -> None:
        await self._client.aio.aclose()


def _contents(request: GenerationRequest) -> list[types.Content]:
    return [
        types.Content(
            role="model" if turn.role == "assistant" else "user",
            parts=[types.Part(text=turn.content)],
        )
        for turn in alternating_turns(request.messages)
    ]


def _config(request: GenerationRequest) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction=request.system or None,
        temperature=request.temperature,
        max_output_tokens=request.max_tokens,
    )


def _usage(reported: Any, request: GenerationRequest, produced: list[str]) -> Usage:
    if reported is None or reported.prompt_token_count is None:
        return estimated_usage(request, produced)
    # Thinking tokens are billed as output.
    output = (reported.candidates_token_count or 0) + (reported.thoughts_token_count or 0)
    return Usage(int(reported.prompt_token_count), int(output))
