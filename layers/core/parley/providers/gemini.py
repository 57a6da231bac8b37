"""Google Gemini through ``google-genai``, the maintained successor of the
``google-generativeai`` package (end of life in 2025). Developer API with an API key."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import httpx2
from google import genai
from google.genai import types

from parley.providers.base import Finish, GenerationRequest, Provider, TextDelta, Usage
from parley.providers.messages import alternating_turns
from parley.providers.sdk_errors import gemini_failures, translate_gemini_error
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
        self._http = httpx2.AsyncClient(transport=_TrackingTransport())
        options = types.HttpOptions(
            base_url=base_url,
            timeout=int(timeouts.read_seconds * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
            httpx_async_client=self._http,
        )
        self._client = genai.Client(api_key=api_key, http_options=options)

    async def stream(
        self, spec: ModelSpec, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        produced: list[str] = []
        finish_reason: str | None = None
        usage: Any = None
        stream: Any = None
        opened: list[httpx2.Response] = []
        marker = _OPENED.set(opened)
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
        except gemini_failures() as exc:
            raise translate_gemini_error(exc, provider=self.name, model=spec.name) from exc
        finally:
            if stream is not None and hasattr(stream, "aclose"):
                await stream.aclose()
            # Closing the SDK's generator does not close the response under it (nor does an
            # in-band error): close it here, so a consumer that stops early ends the request.
            for response in opened:
                await response.aclose()
            # A generator finalised by the garbage collector runs in another context.
            with contextlib.suppress(ValueError):
                _OPENED.reset(marker)
        yield Finish(
            _FINISH.get(finish_reason or "STOP", "other"), _usage(usage, request, produced)
        )

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        await self._http.aclose()  # genai leaves a client it was given to its owner


# The responses opened by the stream running in this context (see _TrackingTransport).
_OPENED: ContextVar[list[httpx2.Response] | None] = ContextVar("gemini_opened", default=None)


class _TrackingTransport(httpx2.AsyncBaseTransport):
    """Notes each response in the calling stream's list, so the adapter can close it."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        opened = _OPENED.get()
        if opened is not None:
            opened.append(response)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


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
        response_mime_type="application/json" if request.json_object else None,
    )


def _usage(reported: Any, request: GenerationRequest, produced: list[str]) -> Usage:
    if reported is None or reported.prompt_token_count is None:
        return estimated_usage(request, produced)
    # Thinking tokens are billed as output.
    output = (reported.candidates_token_count or 0) + (reported.thoughts_token_count or 0)
    return Usage(int(reported.prompt_token_count), int(output))
