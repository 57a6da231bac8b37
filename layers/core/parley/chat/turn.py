"""What flows through the chat pipeline: the request as a turn, and the turn once prepared
(its route, context, hold and cache entry), whichever endpoint it came through."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from parley.auth.identity import Identity
    from parley.chat.billing import Hold
    from parley.chat.events import ChatEvent
    from parley.chat.response_cache import CachedAnswer
    from parley.guardrails.guard import SafetyPlan
    from parley.orgs.settings import Mode, OrgSettings
    from parley.providers.base import (
        ChatMessage,
        GenerationRequest,
        ImagePart,
        ResponseSchema,
        ToolChoice,
        ToolSpec,
    )
    from parley.routing.analysis import AttachmentInfo
    from parley.routing.plan import Route
    from parley.state.usage import Endpoint

__all__ = ["ChatTurn", "Emit", "PreparedChat"]

Emit = Callable[["ChatEvent"], Awaitable[None]]


@dataclass(frozen=True)
class ChatTurn:
    """One request to chat, whichever endpoint it came through."""

    identity: Identity
    request_id: str
    endpoint: Endpoint
    message: str
    mode: Mode | None = None  # None: the org's default mode
    model: str | None = None
    conversation_id: str | None = None
    # The client's own history (OpenAI-compatible calls): used as is, nothing is stored.
    history: tuple[ChatMessage, ...] | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    prompt_suffix: str = ""  # attachment text, sent to the model after the message
    attachments: tuple[AttachmentInfo, ...] = ()
    images: tuple[ImagePart, ...] = ()  # the message's images
    # After the message (OpenAI-compatible calls): the assistant's tool calls and the results
    # the client is answering them with.
    followups: tuple[ChatMessage, ...] = ()
    tools: tuple[ToolSpec, ...] = ()  # functions the model may call
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_schema: ResponseSchema | None = None  # the schema the answer must follow
    json_object: bool = False  # the answer must be one JSON object (any schema implies it)
    cache: bool = False  # the client marked the request cacheable
    locale: str | None = None  # the user's locale (BCP 47): whose crisis lines to give
    metadata: dict[str, Any] = field(default_factory=dict)  # stored with the user's message
    started: float = field(default_factory=time.perf_counter)

    @property
    def stores(self) -> bool:
        return self.history is None

    @property
    def uses_tools(self) -> bool:
        """Function-calling work: tools offered, or a conversation that already called some."""
        earlier = (*(self.history or ()), *self.followups)
        return bool(self.tools) or any(m.role == "tool" or m.tool_calls for m in earlier)

    @property
    def image_count(self) -> int:
        return len(self.images) + sum(len(m.images) for m in self.history or ())

    @property
    def requested_panel(self) -> str | None:
        """The preferences panel the client's form is for, when it said (``panel``)."""
        panel = self.metadata.get("panel")
        return panel if isinstance(panel, str) else None


@dataclass(frozen=True)
class PreparedChat:
    turn: ChatTurn
    org: OrgSettings
    route: Route
    conversation_id: str | None
    new_conversation: bool
    user_message_id: str
    reply_message_id: str
    history: list[ChatMessage]
    request: GenerationRequest
    hold: Hold
    cache_key: str | None = None  # where a complete answer is cached
    cached: CachedAnswer | None = None  # the answer, when the cache had it
    # The caller's preferences for the request's panel, for ``meta`` (parley.preferences.smart),
    # still being read when the turn is prepared; None: no smart defaults (completions).
    smart_defaults: asyncio.Future[dict[str, Any]] | None = None
    # Stage 1's screening and the cool-down (parley.chat.safety); None: no guardrail.
    safety: SafetyPlan | None = None
