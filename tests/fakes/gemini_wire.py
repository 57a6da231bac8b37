"""The Gemini Developer API's ``generateContent`` wire format, as ``google-genai`` reads it.

google-genai 3.4.0 defaults to API version ``v1`` (``v1beta`` with
``GOOGLE_GENAI_API_VERSION=beta``) and, with a ``base_url`` and an API key, posts to
``{base_url}/{version}/models/{model}:streamGenerateContent?alt=sse`` or ``…:generateContent``
with the key in ``x-goog-api-key``. A stream is unnamed SSE events separated by ``\\r\\n\\r\\n``,
each a whole ``GenerateContentResponse``; the last one carries ``finishReason`` and
``usageMetadata``. An in-band error is an event ``{"error": {"code", "message", "status"}}``:
the SDK raises it as ``errors.ServerError``/``ClientError`` from the code in the body (the HTTP
status of the stream was 200). A malformed event raises ``errors.UnknownApiResponseError``.

Function calls come whole: a content part ``{"functionCall": {"name", "args": {...}, "id"?},
"thoughtSignature"?}``, every call of an answer in one event, and the answer's finishReason
is ``STOP`` (Gemini has no word of its own for "tool calls"). Gemini 2.5 and 3 sign the first
function-call part of an answer (``thoughtSignature``, base64) and Gemini 3 refuses a later
request whose history drops it; the fake always signs the first call, and sends a
``FakeToolCall.id`` as the call's optional ``id``. Since a call is never split across events,
a stream cut "inside a call" is one whose event carrying the calls never arrives.

The API refuses (400 ``INVALID_ARGUMENT``) a few request shapes an adapter could get wrong:
contents that do not alternate user and model starting with the user, a ``functionResponse``
whose name answers no ``functionCall`` of the model content just before it, and
``inlineData`` without a MIME type (``refusal``).
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from tests.fakes.scripts import Reply, data_event

if TYPE_CHECKING:
    from tests.fakes.scripts import FakeToolCall, Script

_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_SEPARATOR = "\r\n\r\n"


def thought_signature(call: FakeToolCall) -> str:
    """The signature the fake puts on an answer's first call: standard base64 as the API
    sends it, of bytes whose encoding uses both "+" and "/" (URL-safe base64 differs)."""
    return base64.b64encode(b"\xfb\xff\xbf" + f"signed {call.name}".encode()).decode()


class GeminiReply(Reply):
    provider = "gemini"
    finish_reasons: ClassVar = {
        "stop": "STOP",
        "length": "MAX_TOKENS",
        "content_filter": "SAFETY",
        "tool_calls": "STOP",
    }

    def __init__(self, model: str, body: Any, script: Script) -> None:
        super().__init__(model, body, script)
        self._id = uuid.uuid4().hex[:22]

    def head(self) -> list[bytes]:
        return []

    def delta(self, text: str) -> bytes:
        return self._event(self._response(text, finish_reason=None))

    def tail(self) -> list[bytes]:
        return [self._event(self._response("", finish_reason=self.finish_reason))]

    def tool_events(self, cut_after: int | None = None) -> list[bytes]:
        if not self.script.tool_calls or cut_after is not None:
            return []  # whole calls: a cut inside one means its event never came
        return [self._event(self._response("", finish_reason=None, calls=True))]

    def refusal(self) -> tuple[int, dict[str, Any]] | None:
        """The API's 400 for a request it refuses (see the module's docstring), else None."""
        problem = request_problem(self.body)
        if problem is None:
            return None
        return 400, {"error": {"code": 400, "message": problem, "status": "INVALID_ARGUMENT"}}

    def in_band_error(self) -> bytes:
        error = {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}
        return self._event({"error": error})

    def misshapen(self) -> bytes:
        # google-genai reads it into its own models, and answers what does not fit itself.
        return self._event({"candidates": "text"})

    def malformed(self) -> bytes:
        return f"data: {{not json{_SEPARATOR}".encode()

    def whole(self) -> dict[str, Any]:
        return self._response(self.script.text, finish_reason=self.finish_reason, calls=True)

    def error(self, status: int) -> dict[str, Any]:
        name = _STATUSES.get(status) or ("UNAVAILABLE" if status >= 500 else "FAILED_PRECONDITION")
        messages = {
            "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
            "UNAVAILABLE": "The model is overloaded. Please try again later.",
            "INTERNAL": "An internal error has occurred.",
        }
        message = messages.get(name, f"Request refused ({status}).")
        return {"error": {"code": status, "message": message, "status": name}}

    def _response(
        self, text: str, *, finish_reason: str | None, calls: bool = False
    ) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{"text": text}]
        if calls and self.script.tool_calls:
            parts = [*([{"text": text}] if text else []), *self._call_parts()]
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        response: dict[str, Any] = {"candidates": [candidate]}
        if finish_reason is not None:
            candidate["finishReason"] = finish_reason
            if self.script.usage is not None:
                prompt, output = self.script.usage
                response["usageMetadata"] = {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": output,
                    "totalTokenCount": prompt + output,
                }
        response["modelVersion"] = self.model
        response["responseId"] = self._id
        return response

    def _call_parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for number, call in enumerate(self.script.tool_calls):
            function_call: dict[str, Any] = {"name": call.name, "args": call.arguments}
            if call.id:
                function_call["id"] = call.id
            part: dict[str, Any] = {"functionCall": function_call}
            if number == 0:  # Gemini signs the first call of parallel ones only
                part["thoughtSignature"] = thought_signature(call)
            parts.append(part)
        return parts

    @staticmethod
    def _event(payload: dict[str, Any]) -> bytes:
        return data_event(payload, separator=_SEPARATOR)


def request_problem(body: Any) -> str | None:
    """What the API would refuse in this ``generateContent`` body (its messages, near enough)."""
    contents = body.get("contents") if isinstance(body, dict) else None
    if not isinstance(contents, list):
        return "* GenerateContentRequest.contents: contents is not specified"
    previous: dict[str, Any] | None = None
    for number, content in enumerate(contents):
        problem = _content_problem(number, content, previous)
        if problem is not None:
            return problem
        previous = content
    return None


def _content_problem(number: int, content: Any, previous: dict[str, Any] | None) -> str | None:
    expected = "user" if number % 2 == 0 else "model"
    if not isinstance(content, dict) or content.get("role") != expected:
        return (
            "Please ensure that multiturn requests alternate between user and model, "
            "starting with the user."
        )
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        return (
            f"* GenerateContentRequest.contents[{number}].parts: contents.parts must not be empty."
        )
    called = {
        part["functionCall"].get("name")
        for part in (previous or {}).get("parts", [])
        if isinstance(part, dict) and isinstance(part.get("functionCall"), dict)
    }
    for index, part in enumerate(parts):
        where = f"contents[{number}].parts[{index}]"
        problem = _part_problem(where, part, called)
        if problem is not None:
            return problem
    return None


def _part_problem(where: str, part: Any, called: set[Any]) -> str | None:
    if not isinstance(part, dict):
        return f"* GenerateContentRequest.{where}: Invalid value"
    response = part.get("functionResponse")
    if isinstance(response, dict) and response.get("name") not in called:
        return (
            "Please ensure that function response turn comes immediately after a function "
            f"call turn, and that {where}.function_response.name matches a function call."
        )
    blob = part.get("inlineData")
    # Protobuf JSON takes a field by its JSON name or its proto name (google-genai sends
    # the nested blob's fields as the latter).
    if isinstance(blob, dict) and not (blob.get("mimeType") or blob.get("mime_type")):
        return f"* GenerateContentRequest.{where}.inline_data.mime_type: a mime type is required"
    return None
