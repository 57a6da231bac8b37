"""OpenAI through the official ``openai`` SDK; also any OpenAI-compatible server (vLLM,
Ollama, LM Studio, Groq...) given a base URL. The SDK is imported when this module is.

Parley's request is OpenAI's Chat Completions shape already, so the mapping is direct: images
become ``image_url`` content parts, tool calls and results keep their ids, tools are
``function`` tools and a response schema is ``response_format: json_schema``. Whether a
compatible server's model gets tools, images or a schema at all is the catalog's decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx2
import openai

from parley.providers.base import (
    Finish,
    GenerationRequest,
    Provider,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from parley.providers.sdk_errors import stainless_failures, translate_stainless_error
from parley.providers.tokens import estimated_usage
from parley.providers.wire import (
    MalformedStream,
    a_count,
    a_list,
    an_object,
    optional_text,
    required_text,
)

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterator

    from parley.providers.base import (
        ChatMessage,
        FinishReason,
        ResponseSchema,
        StreamEvent,
        ToolCall,
        ToolChoice,
        ToolSpec,
    )
    from parley.providers.catalog import ModelSpec
    from parley.providers.timeouts import ProviderTimeouts

__all__ = ["OpenAIProvider"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",  # the deprecated functions API's word for it
}

# What a tool without parameters takes: OpenAI reads an omitted schema the same way, but
# compatible servers do not all accept a function without one.
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


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
        reading = _Reading()
        try:
            async with stream:
                async for raw in stream:
                    for event in reading.events_of(raw):
                        yield event
        except self._failures as exc:
            raise translate_stainless_error(
                exc, openai, provider=self.name, model=spec.name
            ) from exc
        yield reading.finish(request)

    def _arguments(self, spec: ModelSpec, request: GenerationRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages += [_message(m) for m in request.messages]
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
        if request.tools:
            arguments.update(_tool_arguments(request))
        if request.response_schema is not None:
            arguments["response_format"] = _json_schema_format(request.response_schema)
        elif request.json_object and not self._compatible:
            # Not for compatible servers: one that does not know the parameter would refuse
            # every such request, and the prompt asks for the JSON anyway.
            arguments["response_format"] = {"type": "json_object"}
        return arguments

    async def aclose(self) -> None:
        await self._client.close()


def _message(message: ChatMessage) -> dict[str, Any]:
    """One message in Chat Completions' shape; a plain text one exactly as it always was."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            # OpenAI's own answers carry null content when the model only called tools.
            "content": message.content or None,
            "tool_calls": [_tool_call(call) for call in message.tool_calls],
        }
    if message.role == "user" and message.images:
        return {"role": "user", "content": _content_parts(message)}
    return {"role": message.role, "content": message.content}


def _content_parts(message: ChatMessage) -> list[dict[str, Any]]:
    """The text first (when there is any), then the images, each by URL or as a data: URL."""
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append({"type": "text", "text": message.content})
    parts += [
        {"type": "image_url", "image_url": {"url": image.as_url, "detail": image.detail}}
        for image in message.images
    ]
    return parts


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _tool_arguments(request: GenerationRequest) -> dict[str, Any]:
    """``tools``, and how the model may use them: OpenAI refuses ``tool_choice`` and
    ``parallel_tool_calls`` in a request without tools, so they only come with them."""
    arguments: dict[str, Any] = {"tools": [_tool(tool) for tool in request.tools]}
    if request.tool_choice is not None:
        arguments["tool_choice"] = _tool_choice(request.tool_choice)
    if request.parallel_tool_calls is not None:
        arguments["parallel_tool_calls"] = request.parallel_tool_calls
    return arguments


def _tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    function["parameters"] = tool.parameters if tool.parameters is not None else _NO_PARAMETERS
    if tool.strict:  # only when asked: some compatible servers refuse keys they do not know
        function["strict"] = True
    return {"type": "function", "function": function}


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode == "function":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def _json_schema_format(schema: ResponseSchema) -> dict[str, Any]:
    """OpenAI's Structured Outputs: ``response_format`` of type ``json_schema``."""
    json_schema: dict[str, Any] = {
        "name": schema.name,
        "schema": schema.schema,
        "strict": schema.strict,
    }
    if schema.description is not None:
        json_schema["description"] = schema.description
    return {"type": "json_schema", "json_schema": json_schema}


class _Reading:
    """One stream's chunks as Parley's events, and what its ``Finish`` needs: the usage, the
    finish reason, and the text and arguments produced (to estimate usage a server omitted)."""

    def __init__(self) -> None:
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.produced: list[str] = []
        # OpenAI's index of each call -> Parley's (the order the calls began in). They are
        # the same 0, 1, 2... on OpenAI; the map keeps a server that numbers otherwise right.
        self._calls: dict[int, int] = {}

    def events_of(self, raw: object) -> Iterator[StreamEvent]:
        chunk = an_object(raw, "a chunk")
        if chunk.get("usage"):
            self.usage = an_object(chunk["usage"], "usage")
        for entry in a_list(chunk.get("choices"), "choices")[:1]:
            choice = an_object(entry, "a choice")
            delta = an_object(choice.get("delta") or {}, "a delta")
            # One delta may carry text and calls both; the text came first.
            content = optional_text(delta.get("content"), "content")
            if content:
                self.produced.append(content)
                yield TextDelta(content)
            for call in a_list(delta.get("tool_calls"), "tool_calls"):
                fragment = self._fragment(an_object(call, "a tool call"))
                if fragment is not None:
                    yield fragment
            reason = optional_text(choice.get("finish_reason"), "finish_reason")
            self.finish_reason = reason or self.finish_reason

    def finish(self, request: GenerationRequest) -> Finish:
        if self.usage is not None:
            measured = Usage(
                a_count(self.usage.get("prompt_tokens"), "prompt_tokens"),
                a_count(self.usage.get("completion_tokens"), "completion_tokens"),
            )
        else:  # some compatible servers ignore stream_options
            measured = estimated_usage(request, self.produced)
        reason = _FINISH.get(self.finish_reason or "stop", "other")
        if self._calls and reason == "stop":
            reason = "tool_calls"  # some compatible servers say "stop" after calling tools
        return Finish(reason, measured)

    def _fragment(self, call: dict[str, Any]) -> ToolCallDelta | None:
        """A call's first entry opens it (its id and name); later ones add arguments. A later
        entry with nothing new (an empty piece) is no event."""
        function = an_object(call.get("function") or {}, "a tool call's function")
        arguments = optional_text(function.get("arguments"), "a tool call's arguments") or ""
        self.produced.append(arguments)
        upstream_index = _index_of(call)
        index = self._calls.get(upstream_index)
        if index is not None:
            return ToolCallDelta(index, arguments=arguments) if arguments else None
        index = self._calls[upstream_index] = len(self._calls)
        call_id = required_text(call.get("id"), "a tool call's id")
        name = required_text(function.get("name"), "a tool call's name")
        return ToolCallDelta(index, id=call_id, name=name, arguments=arguments)


def _index_of(call: dict[str, Any]) -> int:
    if call.get("index") is None:  # a_count would read an absent one as 0
        raise MalformedStream("a tool call has no index")
    return a_count(call["index"], "a tool call's index")
