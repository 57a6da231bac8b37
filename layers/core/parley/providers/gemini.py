"""Google Gemini through ``google-genai``, the maintained successor of the
``google-generativeai`` package (end of life in 2025). Developer API with an API key.

The conversation goes as alternating ``Content``s (``turns_of``), ``model`` for the assistant.
A turn is its messages' parts in order, adjacent texts joined into one part, so a turn of
plain text is one text part as it always was. A user's message is its text, then its images:
the bytes of a ``data:`` URL as ``inline_data`` (a ``Blob``: the SDK sends bytes as URL-safe
base64, which the API's JSON reader takes like the standard alphabet, so the image's base64 is
decoded here and its bytes go unchanged), an ``https`` URL as ``file_data``. An assistant's
message is its text, then a ``function_call`` part per call (its arguments parsed; arguments
that are not a JSON object, an earlier model's answer cut short, go as ``{}``, since the call
must be there for its response to pair with). A ``tool`` message is a ``function_response``
part in the user's content, named after its function (Gemini pairs responses with calls by
name), whose ``response`` is the result parsed when it is a JSON object, else
``{"result": <the text>}``.

Gemini 2.5 and 3 sign the first function call of an answer (``thought_signature``) and
Gemini 3 refuses a history whose calls come back without it. OpenAI's clients only echo a
call's id, so the signature travels inside the id Parley gives the call (``_call_id``) and
goes back on the call's part; a model content whose calls carry no signature at all (calls
of another provider's model, after failover) gets the API's documented stand-in on its first
call, so that Gemini 3 still takes the history.

Tools are ``function_declarations`` whose ``parameters_json_schema`` takes the client's JSON
Schema as it is (``parameters`` wants the SDK's OpenAPI ``Schema``); ``tool_choice`` is the
``function_calling_config`` mode AUTO, NONE or ANY (required), ANY limited to one name for a
named function. A response schema is the native structured output: ``response_mime_type``
``application/json`` with ``response_json_schema`` (a raw JSON Schema in google-genai 3.4.0;
``response_schema`` wants the SDK's ``Schema``).

In the stream Gemini sends whole calls, each a content part with a ``function_call``: each is
one ``ToolCallDelta`` with all of its arguments' JSON text, numbered in order of arrival. An
answer that called tools ends with ``STOP``, reported as ``tool_calls``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import httpx2
from google import genai
from google.genai import types

from parley.providers.base import (
    Finish,
    GenerationRequest,
    Provider,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from parley.providers.errors import ProviderRequestInvalid
from parley.providers.messages import turns_of
from parley.providers.sdk_errors import gemini_failures, translate_gemini_error
from parley.providers.tokens import estimated_usage
from parley.providers.wire import MalformedStream

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterator, Sequence

    from parley.providers.base import (
        ChatMessage,
        FinishReason,
        ImagePart,
        StreamEvent,
        ToolCall,
        ToolChoice,
        ToolSpec,
    )
    from parley.providers.catalog import ModelSpec
    from parley.providers.messages import Turn
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
        contents = self._contents(spec, request)
        answer = _Answer()
        stream: Any = None
        opened: list[httpx2.Response] = []
        marker = _OPENED.set(opened)
        try:
            stream = await self._client.aio.models.generate_content_stream(
                model=spec.model, contents=contents, config=_config(request)
            )
            async for chunk in stream:
                for event in answer.read(chunk):
                    yield event
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
        yield answer.finish(request)

    def _contents(self, spec: ModelSpec, request: GenerationRequest) -> list[types.Content]:
        try:
            return _contents(request)
        except _UnnamedResult as exc:
            # The chat endpoints name every result before this: this is the last line.
            raise ProviderRequestInvalid(str(exc), provider=self.name, model=spec.name) from exc

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        await self._http.aclose()  # genai leaves a client it was given to its owner


class _Answer:
    """What the stream has said so far: its text and calls, finish reason and usage."""

    def __init__(self) -> None:
        self.produced: list[str] = []
        self.calls = 0
        self.finish_reason: str | None = None
        self.usage: Any = None

    def read(self, chunk: types.GenerateContentResponse) -> Iterator[StreamEvent]:
        if chunk.usage_metadata is not None:
            self.usage = chunk.usage_metadata
        for candidate in (chunk.candidates or [])[:1]:
            if candidate.content is not None:
                yield from self._parts(candidate.content.parts or [])
            if candidate.finish_reason is not None:
                self.finish_reason = str(candidate.finish_reason.value)

    def _parts(self, parts: list[types.Part]) -> Iterator[StreamEvent]:
        for part in parts:
            if part.function_call is not None:
                call = _tool_call_delta(self.calls, part.function_call, part.thought_signature)
                self.calls += 1
                self.produced.append(call.arguments)
                yield call
            # Thinking models stream their thoughts as parts too: not the answer.
            elif part.text and not part.thought:
                self.produced.append(part.text)
                yield TextDelta(part.text)

    def finish(self, request: GenerationRequest) -> Finish:
        reason = _FINISH.get(self.finish_reason or "STOP", "other")
        if self.calls and reason == "stop":
            reason = "tool_calls"  # Gemini ends an answer that called tools with STOP
        return Finish(reason, _usage(self.usage, request, self.produced))


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
    names = _called_functions(request.messages)
    return [_content(turn, names) for turn in turns_of(request.messages)]


def _called_functions(messages: Sequence[ChatMessage]) -> dict[str, str]:
    """The function each tool call of the history called, by the call's id."""
    return {call.id: call.name for message in messages for call in message.tool_calls}


def _content(turn: Turn, names: dict[str, str]) -> types.Content:
    parts = _joined_texts([part for m in turn.messages for part in _parts(m, names)])
    if turn.role == "assistant":
        _sign_unsigned_calls(parts)
        return types.Content(role="model", parts=parts)
    return types.Content(role="user", parts=parts)


def _parts(message: ChatMessage, names: dict[str, str]) -> list[types.Part]:
    if message.role == "tool":
        return [_function_response(message, names)]
    parts = [types.Part(text=message.content)] if message.content else []
    parts.extend(_image(image) for image in message.images)
    parts.extend(_function_call(call) for call in message.tool_calls)
    return parts


def _joined_texts(parts: list[types.Part]) -> list[types.Part]:
    """Adjacent text parts as one, their texts joined by blank lines (as turns always were)."""
    joined: list[types.Part] = []
    for part in parts:
        if joined and _is_text(joined[-1]) and _is_text(part):
            joined[-1] = types.Part(text=f"{joined[-1].text}\n\n{part.text}")
        else:
            joined.append(part)
    return joined


def _is_text(part: types.Part) -> bool:
    return part.text is not None  # the parts made here hold one thing each


def _image(image: ImagePart) -> types.Part:
    if image.data is not None:
        blob = types.Blob(mime_type=image.media_type, data=base64.b64decode(image.data))
        return types.Part(inline_data=blob)
    # ``detail`` has no counterpart here: Gemini picks the resolution itself.
    return types.Part(file_data=types.FileData(file_uri=image.url, mime_type=image.media_type))


def _function_call(call: ToolCall) -> types.Part:
    gemini_id, signature = _from_call_id(call.id)
    function_call = types.FunctionCall(name=call.name, args=_arguments(call), id=gemini_id)
    return types.Part(function_call=function_call, thought_signature=signature)


def _arguments(call: ToolCall) -> dict[str, Any]:
    try:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        return {}
    return arguments if isinstance(arguments, dict) else {}


def _function_response(message: ChatMessage, names: dict[str, str]) -> types.Part:
    call_id = message.tool_call_id or ""
    name = message.name or names.get(call_id)
    if not name:
        # Gemini pairs a response with its call by the function's name: the API refuses one
        # without it.
        raise _UnnamedResult("A tool result answers no tool call of the conversation.")
    response = types.FunctionResponse(
        name=name, response=_result(message.content), id=_from_call_id(call_id)[0]
    )
    return types.Part(function_response=response)


class _UnnamedResult(Exception):
    """A tool result whose function is named neither by it nor by a call of the history."""


def _result(content: str) -> dict[str, Any]:
    """The API takes a result as a JSON object: the result's, or the text under ``result``."""
    try:
        parsed = json.loads(content)
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"result": content}


# The API's documented stand-in for a signature it never gave (history from another model):
# base64 on the wire, "skip_thought_signature_validator", so these are the bytes it decodes to.
_SKIP_SIGNATURE = base64.urlsafe_b64decode("skip_thought_signature_validator")


def _sign_unsigned_calls(parts: list[types.Part]) -> None:
    """Gemini 3 refuses a model content whose calls have no signature: the first gets the
    stand-in (only the first call of parallel ones is ever signed)."""
    calls = [part for part in parts if part.function_call is not None]
    if calls and all(part.thought_signature is None for part in calls):
        calls[0].thought_signature = _SKIP_SIGNATURE


# The ids Parley gives Gemini's calls: ``call_`` and either 24 hex digits (Gemini gave no id)
# or ``gem-`` and Gemini's own id in URL-safe base64, then, for a signed call, ``.`` and the
# signature in URL-safe base64 (no padding). Base64url has no ".", and another provider's ids
# (alphanumeric, or ``toolu_…``) do not fit, so they go back to Gemini without id or signature.
_CALL_ID = re.compile(
    r"call_(?:[0-9a-f]{24}|gem-(?P<gemini>[A-Za-z0-9_-]+))(?:\.(?P<signature>[A-Za-z0-9_-]+))?"
)


def _call_id(gemini_id: str | None, signature: bytes | None) -> str:
    """The id an OpenAI client sees for a call and echoes back with the call later."""
    base = f"call_gem-{_b64(gemini_id.encode())}" if gemini_id else f"call_{uuid.uuid4().hex[:24]}"
    return f"{base}.{_b64(signature)}" if signature else base


def _from_call_id(call_id: str) -> tuple[str | None, bytes | None]:
    """Gemini's own id of a call and its signature, from the id ``_call_id`` gave it."""
    match = _CALL_ID.fullmatch(call_id)
    if match is None:
        return None, None
    gemini_id = _unb64(match["gemini"])
    signature = _unb64(match["signature"])
    return (None if gemini_id is None else gemini_id.decode(errors="replace")), signature


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        return None  # damaged on its way through the client: better none than a wrong one


def _tool_call_delta(
    index: int, call: types.FunctionCall, signature: bytes | None
) -> ToolCallDelta:
    """A whole call as one fragment; a call without arguments has ``{}``."""
    if not call.name:
        raise MalformedStream("a function call has no name")
    arguments = json.dumps(call.args or {}, ensure_ascii=False, separators=(",", ":"))
    return ToolCallDelta(index, _call_id(call.id, signature), call.name, arguments)


def _config(request: GenerationRequest) -> types.GenerateContentConfig:
    schema = request.response_schema
    wants_json = request.json_object or schema is not None
    # parallel_tool_calls: Gemini has no switch for at most one call, so it is left alone.
    return types.GenerateContentConfig(
        system_instruction=request.system or None,
        temperature=request.temperature,
        max_output_tokens=request.max_tokens,
        response_mime_type="application/json" if wants_json else None,
        response_json_schema=None if schema is None else schema.schema,
        tools=[_tools(request.tools)] if request.tools else None,
        tool_config=_tool_config(request.tool_choice),
    )


# An empty object: what a function without parameters takes.
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def _tools(tools: Sequence[ToolSpec]) -> types.Tool:
    # ``strict`` has no counterpart: Gemini holds calls to the declared schema anyway.
    return types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name=tool.name,
                description=tool.description,
                parameters_json_schema=tool.parameters or _NO_PARAMETERS,
            )
            for tool in tools
        ]
    )


_MODES = {
    "auto": types.FunctionCallingConfigMode.AUTO,
    "none": types.FunctionCallingConfigMode.NONE,
    "required": types.FunctionCallingConfigMode.ANY,
    "function": types.FunctionCallingConfigMode.ANY,
}


def _tool_config(choice: ToolChoice | None) -> types.ToolConfig | None:
    if choice is None:
        return None
    named = [choice.name] if choice.mode == "function" and choice.name else None
    calling = types.FunctionCallingConfig(mode=_MODES[choice.mode], allowed_function_names=named)
    return types.ToolConfig(function_calling_config=calling)


def _usage(reported: Any, request: GenerationRequest, produced: list[str]) -> Usage:
    if reported is None or reported.prompt_token_count is None:
        return estimated_usage(request, produced)
    # Thinking tokens are billed as output.
    output = (reported.candidates_token_count or 0) + (reported.thoughts_token_count or 0)
    return Usage(int(reported.prompt_token_count), int(output))
