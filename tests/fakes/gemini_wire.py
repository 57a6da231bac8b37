"""The Gemini Developer API's ``generateContent`` wire format, as ``google-genai`` reads it.

google-genai 3.4.0 defaults to API version ``v1`` (``v1beta`` with
``GOOGLE_GENAI_API_VERSION=beta``) and, with a ``base_url`` and an API key, posts to
``{base_url}/{version}/models/{model}:streamGenerateContent?alt=sse`` or ``…:generateContent``
with the key in ``x-goog-api-key``. A stream is unnamed SSE events separated by ``\\r\\n\\r\\n``,
each a whole ``GenerateContentResponse``; the last one carries ``finishReason`` and
``usageMetadata``. An in-band error is an event ``{"error": {"code", "message", "status"}}``:
the SDK raises it as ``errors.ServerError``/``ClientError`` from the code in the body (the HTTP
status of the stream was 200). A malformed event raises ``errors.UnknownApiResponseError``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from tests.fakes.scripts import Reply, data_event

if TYPE_CHECKING:
    from tests.fakes.scripts import Script

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


class GeminiReply(Reply):
    provider = "gemini"
    finish_reasons: ClassVar = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}

    def __init__(self, model: str, body: Any, script: Script) -> None:
        super().__init__(model, body, script)
        self._id = uuid.uuid4().hex[:22]

    def head(self) -> list[bytes]:
        return []

    def delta(self, text: str) -> bytes:
        return self._event(self._response(text, finish_reason=None))

    def tail(self) -> list[bytes]:
        return [self._event(self._response("", finish_reason=self.finish_reason))]

    def in_band_error(self) -> bytes:
        error = {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}
        return self._event({"error": error})

    def misshapen(self) -> bytes:
        # google-genai reads it into its own models, and answers what does not fit itself.
        return self._event({"candidates": "text"})

    def malformed(self) -> bytes:
        return f"data: {{not json{_SEPARATOR}".encode()

    def whole(self) -> dict[str, Any]:
        return self._response(self.script.text, finish_reason=self.finish_reason)

    def error(self, status: int) -> dict[str, Any]:
        name = _STATUSES.get(status) or ("UNAVAILABLE" if status >= 500 else "FAILED_PRECONDITION")
        messages = {
            "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
            "UNAVAILABLE": "The model is overloaded. Please try again later.",
            "INTERNAL": "An internal error has occurred.",
        }
        message = messages.get(name, f"Request refused ({status}).")
        return {"error": {"code": status, "message": message, "status": name}}

    def _response(self, text: str, *, finish_reason: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": text}], "role": "model"},
            "index": 0,
        }
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

    @staticmethod
    def _event(payload: dict[str, Any]) -> bytes:
        return data_event(payload, separator=_SEPARATOR)
