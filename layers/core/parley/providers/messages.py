"""Shaping a conversation for APIs that want strictly alternating turns starting with the user
(Anthropic, Gemini). OpenAI-style APIs take the messages as they are."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.providers.base import ChatMessage

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CONTINUATION", "alternating_turns"]

# Opens a history that starts mid-conversation (the context window cut off the user's turn).
CONTINUATION = "(The conversation so far continues below.)"


def alternating_turns(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """User and assistant turns, alternating, first turn the user's: consecutive messages of
    one role are joined, system messages are dropped (adapters pass the system prompt apart),
    and a history that opens with the assistant gets a short user turn before it."""
    turns: list[ChatMessage] = []
    for message in messages:
        if message.role == "system" or not message.content:
            continue
        if turns and turns[-1].role == message.role:
            turns[-1] = ChatMessage(message.role, f"{turns[-1].content}\n\n{message.content}")
        else:
            turns.append(message)
    if turns and turns[0].role == "assistant":
        turns.insert(0, ChatMessage("user", CONTINUATION))
    return turns
