"""Shaping a conversation for APIs that want strictly alternating turns starting with the user
(Anthropic, Gemini). OpenAI-style APIs take the messages as they are.

A turn groups consecutive messages of one side: the user's messages and the ``tool`` messages
that answer the assistant's calls are the user's side (Anthropic carries tool results in a
user turn, Gemini function responses in a user content), the assistant's text and calls are
the other. Each adapter renders a turn's messages as its own blocks or parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from parley.providers.base import ChatMessage

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CONTINUATION", "Turn", "alternating_turns", "turns_of"]

# Opens a history that starts mid-conversation (the context window cut off the user's turn).
CONTINUATION = "(The conversation so far continues below.)"


@dataclass
class Turn:
    """One side's consecutive messages, oldest first."""

    role: Literal["user", "assistant"]
    messages: list[ChatMessage] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The turn's text, its messages' joined by blank lines (tool results excluded)."""
        return "\n\n".join(m.content for m in self.messages if m.role != "tool" and m.content)


def _side(message: ChatMessage) -> Literal["user", "assistant"]:
    return "assistant" if message.role == "assistant" else "user"


def _carries_something(message: ChatMessage) -> bool:
    return bool(message.content or message.images or message.tool_calls or message.role == "tool")


def turns_of(messages: Sequence[ChatMessage]) -> list[Turn]:
    """User and assistant turns, alternating, first turn the user's: consecutive messages of
    one side are grouped, system messages and empty ones are dropped (adapters pass the
    system prompt apart), and a history that opens with the assistant gets a short user turn
    before it."""
    turns: list[Turn] = []
    for message in messages:
        if message.role == "system" or not _carries_something(message):
            continue
        side = _side(message)
        if turns and turns[-1].role == side:
            turns[-1].messages.append(message)
        else:
            turns.append(Turn(side, [message]))
    if turns and turns[0].role == "assistant":
        turns.insert(0, Turn("user", [ChatMessage("user", CONTINUATION)]))
    return turns


def alternating_turns(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The turns of a text-only conversation as one message each, their texts joined."""
    return [ChatMessage(turn.role, turn.text) for turn in turns_of(messages)]
