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
    from parley.providers.base import ChatMessage, GenerationRequest
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
    tools: bool = False  # the request carries tools or functions (routing reads it)
    cache: bool = False  # the client marked the request cacheable
    locale: str | None = None  # the user's locale (BCP 47): whose crisis lines to give
    metadata: dict[str, Any] = field(default_factory=dict)  # stored with the user's message
    started: float = field(default_factory=time.perf_counter)

    @property
    def stores(self) -> bool:
        return self.history is None

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
