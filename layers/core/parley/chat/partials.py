"""The native stream's ``partial`` events: while a structured answer is held to be checked
whole, the object parsed so far, at most every ``interval_seconds`` and only when it changed,
so that a client can show an answer taking shape without an event per token.

Partial-JSON parsing is ``jiter``'s (the parser the OpenAI SDK's own helpers use): an
unfinished string is given as far as it goes (``trailing-strings``), so a long field grows
visibly. Each parse reads the text so far, which is why the events are throttled.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import jiter

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PARTIAL_INTERVAL_SECONDS", "PartialObjects"]

PARTIAL_INTERVAL_SECONDS = 0.1


class PartialObjects:
    def __init__(
        self,
        interval_seconds: float = PARTIAL_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval_seconds
        self._clock = clock
        self._pieces: list[str] = []
        self._last_sent: Any = None
        self._last_at: float | None = None

    def restart(self) -> None:
        """Another attempt's answer begins: what was parsed so far is thrown away."""
        self._pieces.clear()
        self._last_sent, self._last_at = None, None

    def add(self, text: str, *, may_send: bool = True) -> tuple[bool, Any]:
        """Take ``text``; (True, the object so far) when a partial event is due (never
        when it ``may_send`` nothing yet)."""
        self._pieces.append(text)
        if not may_send:
            return False, None
        now = self._clock()
        if self._last_at is not None and now - self._last_at < self._interval:
            return False, None
        value = self._parsed()
        if value is None or value == self._last_sent:
            return False, None
        self._last_sent, self._last_at = value, now
        return True, value

    def _parsed(self) -> Any:
        text = "".join(self._pieces).lstrip()
        if text.startswith("```"):  # a fenced answer: the JSON begins on the next line
            text = text.partition("\n")[2]
        if not text.startswith(("{", "[")):
            return None
        try:
            return jiter.from_json(text.encode(), partial_mode="trailing-strings")
        except ValueError:
            return None
