"""What a fake upstream does for one request (``Script``), what it saw (``RecordedRequest``),
and the shape every provider's wire format fills in (``Reply``).

Scripts are provider-neutral: the same ``Script`` drives OpenAI, Anthropic and Gemini, and each
``Reply`` subclass turns it into that provider's own events, finish reasons and error bodies.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class Script:
    """What the fake does for one request.

    Faults fire "after N chunks": N text deltas have been sent (0 = before the first one,
    ``len(chunks)`` = after the last one, before the finish events). A stall holds the stream
    open for ``stall_seconds`` and then carries on, so a stall shorter than the client's read
    timeout is just a slow stream. A non-streaming request honours ``http_status``, the delays
    and the stall (its reply comes that much later); the other faults only apply to streams.
    """

    chunks: list[str] = field(default_factory=lambda: ["Hello", " world", "!"])
    first_chunk_delay: float = 0.0
    chunk_delay: float = 0.0
    usage: tuple[int, int] | None = (12, 3)
    finish_reason: str = "stop"
    http_status: int | None = None
    retry_after: float | None = None
    error_after: int | None = None
    cut_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 30.0
    malformed_after: int | None = None
    # JSON that decodes, in a shape the provider's API never sends (a string where an object
    # belongs): the adapter must see a malformed stream, not trip over it.
    misshapen_after: int | None = None
    # Functions the model calls after its text, in the provider's own tool-call format; the
    # finish reason is then the provider's word for "tool calls" (see ``Reply.tool_events``).
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    # A tool call cut off inside its arguments: the connection drops after this many of the
    # first call's argument fragments (the stream's text, if any, was sent whole).
    cut_in_tool_call: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@dataclass(frozen=True)
class FakeToolCall:
    """A function call the fake model makes; ``arguments`` is sent as the provider sends it
    (JSON text in fragments for OpenAI and Anthropic, an object for Gemini)."""

    name: str
    arguments: dict[str, Any]
    id: str = ""

    def fragments(self, count: int = 3) -> list[str]:
        """The arguments' JSON text in ``count`` pieces, as streaming providers split it."""
        text = json.dumps(self.arguments, separators=(",", ":"))
        size = max(1, -(-len(text) // count))
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; ``headers`` has lower-case names."""

    provider: str
    model: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


class ScriptBook:
    """Scripts queued per model name. Requests take them in order; the last one taken keeps
    answering until more are queued, and a model never scripted gets ``Script()``.

    Requests arrive on the server's thread while tests queue on theirs, hence the lock."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Script]] = {}
        self._repeating: dict[str, Script] = {}
        self._lock = threading.Lock()

    def add(self, model: str, scripts: tuple[Script, ...]) -> None:
        with self._lock:
            self._queues.setdefault(model, deque()).extend(scripts)

    def take(self, model: str) -> Script:
        with self._lock:
            queue = self._queues.get(model)
            if queue:
                self._repeating[model] = queue.popleft()
            return self._repeating.get(model) or Script()


class Reply(ABC):
    """One provider's answer to one request, event by event. ``FakeUpstream`` decides when
    each part is sent and injects the faults; a subclass only knows the wire format."""

    provider: ClassVar[str]
    finish_reasons: ClassVar[dict[str, str]]
    media_type: ClassVar[str] = "text/event-stream"

    def __init__(self, model: str, body: Any, script: Script) -> None:
        self.model = model
        self.body = body
        self.script = script

    @property
    def finish_reason(self) -> str:
        """The script's provider-neutral finish reason in this provider's words."""
        reason = self.script.finish_reason
        if self.script.tool_calls and reason == "stop":
            reason = "tool_calls"  # each provider's word for it is in its finish_reasons
        try:
            return self.finish_reasons[reason]
        except KeyError:
            known = ", ".join(sorted(self.finish_reasons))
            raise ValueError(f"finish_reason {reason!r} is not one of {known}") from None

    def refusal(self) -> tuple[int, dict[str, Any]] | None:
        """The status and body the real API answers a request of this shape with, when it
        refuses it (a tool result without its call, say); None when it takes it."""
        return None

    @abstractmethod
    def head(self) -> list[bytes]:
        """Events sent before the first text delta."""

    @abstractmethod
    def delta(self, text: str) -> bytes:
        """The event carrying one text delta."""

    @abstractmethod
    def tail(self) -> list[bytes]:
        """Events after the last delta: finish reason, usage and the end-of-stream marker."""

    @abstractmethod
    def tool_events(self, cut_after: int | None = None) -> list[bytes]:
        """The script's tool calls as the provider streams them, after the text and before
        ``tail``; with ``cut_after``, only the first call's opening and that many of its
        argument fragments (the stream is then dropped)."""

    @abstractmethod
    def in_band_error(self) -> bytes:
        """The provider's own error event inside a 200 stream (the stream ends after it)."""

    @abstractmethod
    def malformed(self) -> bytes:
        """An event whose data is not JSON, framed as the provider frames its events."""

    @abstractmethod
    def misshapen(self) -> bytes:
        """An event of valid JSON in a shape the provider's API does not send."""

    @abstractmethod
    def whole(self) -> dict[str, Any]:
        """The non-streaming response body."""

    @abstractmethod
    def error(self, status: int) -> dict[str, Any]:
        """The body of an HTTP error response with this status."""


def data_event(payload: Any, *, event: str | None = None, separator: str = "\n\n") -> bytes:
    """One server-sent event: an optional ``event:`` line, then ``data:`` with compact JSON."""
    named = f"event: {event}\n" if event else ""
    return f"{named}data: {json.dumps(payload, separators=(',', ':'))}{separator}".encode()
