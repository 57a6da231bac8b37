"""Tool calls put together from a stream's fragments (``ToolCallDelta``), in the order the
model made them. The failover engine holds a call until its answer is complete, so that a
stream breaking inside a call's arguments never hands the client half a call: the next
attempt makes the call again, whole."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from parley.providers.base import ToolCall

if TYPE_CHECKING:
    from parley.providers.base import ToolCallDelta

__all__ = ["ToolCallAssembly"]


@dataclass
class _Pieces:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class ToolCallAssembly:
    def __init__(self) -> None:
        self._calls: dict[int, _Pieces] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(self, delta: ToolCallDelta) -> None:
        pieces = self._calls.setdefault(delta.index, _Pieces())
        pieces.id = pieces.id or delta.id
        pieces.name = pieces.name or delta.name
        if delta.arguments:
            pieces.arguments.append(delta.arguments)

    def calls(self) -> list[ToolCall]:
        """The calls by index; a call without arguments takes none (``{}``), one without an
        id gets one (the client answers it by id)."""
        return [
            ToolCall(
                id=pieces.id or f"call_{uuid.uuid4().hex[:24]}",
                name=pieces.name or "",
                arguments="".join(pieces.arguments) or "{}",
            )
            for _, pieces in sorted(self._calls.items())
        ]
