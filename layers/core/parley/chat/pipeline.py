"""The chat pipeline, the same for every endpoint:

    identity → choose the model → load context (hot cache, DynamoDB) → store the user's
    message (concurrently with the provider call; no token is relayed before it is stored)
    → relay the provider's stream → store the reply (complete, or incomplete with what was
    delivered) → record one usage event and its metrics → done (or error).

A client that disconnects cancels the upstream call; what it was shown is stored as an
incomplete reply. A stream that goes quiet for ``stream_idle_timeout_seconds`` or runs past
``stream_max_seconds`` ends with an error, its partial reply kept the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.chat.events import ClientGone, Done, Failed, Meta, Token
from parley.errors import ParleyError, ValidationFailed
from parley.ids import new_id
from parley.providers.base import ChatMessage, GenerationRequest, TextDelta
from parley.providers.errors import ProviderTimeout
from parley.providers.tokens import estimated_usage
from parley.routing.selection import select_model
from parley.state.usage import UsageEvent
from parley.telemetry import logger

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.chat.accounting import Accounting
    from parley.chat.events import ChatEvent
    from parley.chat.memory import ConversationMemory
    from parley.config import Settings
    from parley.providers.base import Finish, Provider, Usage
    from parley.providers.catalog import Catalog
    from parley.providers.registry import ProviderRegistry
    from parley.routing.selection import Mode, Selection
    from parley.state.usage import Endpoint

__all__ = ["ChatService", "ChatTurn", "Emit", "PreparedChat"]

Emit = Callable[["ChatEvent"], Awaitable[None]]


@dataclass(frozen=True)
class ChatTurn:
    """One request to chat, whichever endpoint it came through."""

    identity: Identity
    request_id: str
    endpoint: Endpoint
    message: str
    mode: Mode = "auto"
    model: str | None = None
    conversation_id: str | None = None
    # The client's own history (OpenAI-compatible calls): used as is, nothing is stored.
    history: tuple[ChatMessage, ...] | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    prompt_suffix: str = ""  # attachment text, sent to the model after the message
    metadata: dict[str, Any] = field(default_factory=dict)  # stored with the user's message
    started: float = field(default_factory=time.perf_counter)

    @property
    def stores(self) -> bool:
        return self.history is None


@dataclass(frozen=True)
class PreparedChat:
    turn: ChatTurn
    selection: Selection
    provider: Provider
    conversation_id: str | None
    new_conversation: bool
    user_message_id: str
    reply_message_id: str
    history: list[ChatMessage]
    request: GenerationRequest


@dataclass
class _Progress:
    produced: list[str] = field(default_factory=list)
    finish: Finish | None = None
    ttft_ms: float | None = None
    failure: ParleyError | None = None
    disconnected: bool = False
    done: Done | None = None


class ChatService:
    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Catalog,
        registry: ProviderRegistry,
        memory: ConversationMemory,
        accounting: Accounting,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._registry = registry
        self._memory = memory
        self._accounting = accounting

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def registry(self) -> ProviderRegistry:
        return self._registry

    async def prepare(self, turn: ChatTurn) -> PreparedChat:
        """Everything that can fail before the stream starts, so that it fails as a plain
        HTTP error: a bad body (422), another user's conversation (404), an unconfigured
        model (503)."""
        limit = self._settings.max_message_chars
        if len(turn.message) > limit:
            raise ValidationFailed(f"message: at most {limit} characters")
        selection = select_model(
            self._catalog,
            self._registry.is_available,
            requested=turn.model,
            mode=turn.mode,
            default_model=self._settings.default_model,
        )
        provider = self._registry.provider_for(selection.spec)
        if turn.history is not None:
            conversation_id, new, history = None, False, list(turn.history)
        elif turn.conversation_id is not None:
            conversation_id, new = turn.conversation_id, False
            history = await self._memory.context(turn.identity, turn.conversation_id)
        else:
            conversation_id, new, history = new_id(), True, []
        budget = min(
            turn.max_tokens or self._settings.default_max_tokens, selection.spec.max_output_tokens
        )
        request = GenerationRequest(
            messages=[*history, ChatMessage("user", turn.message + turn.prompt_suffix)],
            system=turn.system or self._settings.system_prompt,
            max_tokens=budget,
            temperature=turn.temperature,
        )
        return PreparedChat(
            turn=turn,
            selection=selection,
            provider=provider,
            conversation_id=conversation_id,
            new_conversation=new,
            user_message_id=new_id(),
            reply_message_id=new_id(),
            history=history,
            request=request,
        )

    async def run(self, prepared: PreparedChat, emit: Emit) -> None:
        """Stream one answer through ``emit``: ``Meta``, ``Token``s, then ``Done`` or
        ``Failed``. Raises ClientGone or CancelledError when the client left, after storing
        what it had been shown."""
        progress = _Progress()
        user_write = self._start_user_write(prepared)
        try:
            await emit(self._meta(prepared))
            await self._relay(prepared, emit, progress, user_write)
        except ParleyError as exc:
            progress.failure = exc
        except (asyncio.CancelledError, ClientGone):
            progress.disconnected = True
            raise
        finally:
            # Shielded: a disconnect cancels this task, and what was said must still be kept.
            await asyncio.shield(self._settle(prepared, progress, user_write))
        if progress.failure is not None:
            await emit(Failed(progress.failure))
        else:
            assert progress.done is not None
            await emit(progress.done)

    def _meta(self, prepared: PreparedChat) -> Meta:
        spec = prepared.selection.spec
        return Meta(
            request_id=prepared.turn.request_id,
            conversation_id=prepared.conversation_id,
            message_id=prepared.reply_message_id,
            route={
                "provider": spec.provider,
                "model": spec.name,
                "tier": spec.tier,
                "mode": prepared.selection.mode,
                "task_type": None,
                "complexity": None,
                "reason": prepared.selection.reason,
            },
            context={"message_count": len(prepared.history)},
        )

    def _start_user_write(self, prepared: PreparedChat) -> asyncio.Task[None] | None:
        if not prepared.turn.stores or prepared.conversation_id is None:
            return None
        turn = prepared.turn
        # Started now, awaited before the first token: the write overlaps the provider's
        # time to first token instead of adding to it.
        return asyncio.ensure_future(
            self._memory.store(
                turn.identity,
                prepared.conversation_id,
                role="user",
                content=turn.message,
                message_id=prepared.user_message_id,
                metadata={**turn.metadata, "request_id": turn.request_id},
                new_conversation=prepared.new_conversation,
            )
        )

    async def _relay(
        self,
        prepared: PreparedChat,
        emit: Emit,
        progress: _Progress,
        user_write: asyncio.Task[None] | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        idle = self._settings.stream_idle_timeout_seconds
        deadline = loop.time() + self._settings.stream_max_seconds
        spec = prepared.selection.spec
        stream = prepared.provider.stream(spec, prepared.request)
        try:
            async with (
                aclosing(stream),
                asyncio.timeout_at(min(loop.time() + idle, deadline)) as budget,
            ):
                async for event in stream:
                    if isinstance(event, TextDelta):
                        if progress.ttft_ms is None:
                            if user_write is not None:
                                await user_write  # never answer a message that was not stored
                            progress.ttft_ms = _elapsed_ms(prepared.turn.started)
                        progress.produced.append(event.text)
                        await emit(Token(event.text))
                    else:
                        progress.finish = event
                    budget.reschedule(min(loop.time() + idle, deadline))
        except TimeoutError as exc:
            if loop.time() >= deadline:
                limit = self._settings.stream_max_seconds
                message = f"The answer took longer than the {limit:g} s limit."
            else:
                message = f"{spec.provider} sent nothing for {idle:g} s."
            raise ProviderTimeout(message, provider=spec.provider, model=spec.name) from exc
        if user_write is not None:
            await user_write  # an answer without tokens still needs its question stored

    async def _settle(
        self, prepared: PreparedChat, progress: _Progress, user_write: asyncio.Task[None] | None
    ) -> None:
        turn, spec = prepared.turn, prepared.selection.spec
        user_stored = await self._user_stored(user_write, progress)
        complete = progress.finish is not None and progress.failure is None
        complete = complete and not progress.disconnected
        usage: Usage = (
            progress.finish.usage
            if complete and progress.finish is not None
            else estimated_usage(prepared.request, progress.produced)
        )
        finish_reason = progress.finish.finish_reason if complete and progress.finish else "error"
        error_code = (
            "client_disconnected"
            if progress.disconnected
            else progress.failure.code
            if progress.failure
            else None
        )
        cost = spec.cost_usd(usage)
        latency_ms = _elapsed_ms(turn.started)
        reply = "".join(progress.produced)
        event = UsageEvent(
            request_id=turn.request_id,
            org_id=turn.identity.org_id,
            user_id=turn.identity.user_id,
            provider=spec.provider,
            model=spec.name,
            endpoint=turn.endpoint,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            usage_estimated=usage.estimated,
            cost_usd=cost,
            latency_ms=latency_ms,
            ttft_ms=progress.ttft_ms,
            success=complete,
            error_code=error_code,
            finish_reason=finish_reason,
            conversation_id=prepared.conversation_id,
            message_id=prepared.reply_message_id,
        )
        stored_reply = False
        if user_stored and prepared.conversation_id is not None:
            metadata = {
                "request_id": turn.request_id,
                "provider": spec.provider,
                "model": spec.name,
                "finish_reason": finish_reason,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "usage_estimated": usage.estimated,
                "cost_usd": cost,
            }
            if error_code:
                metadata["error_code"] = error_code
            stored_reply = await self._store_reply(prepared, reply, complete, metadata)
        await self._accounting.record(event)
        if stored_reply and prepared.conversation_id is not None:
            history = [
                *prepared.history,
                ChatMessage("user", turn.message),
                ChatMessage("assistant", reply),
            ]
            await self._memory.remember(turn.identity, prepared.conversation_id, history)
        progress.done = Done(
            finish_reason=finish_reason,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            usage_estimated=usage.estimated,
            cost_usd=cost,
            latency_ms=latency_ms,
            ttft_ms=progress.ttft_ms,
            message_id=prepared.reply_message_id,
            model=spec.name,
        )

    async def _user_stored(
        self, user_write: asyncio.Task[None] | None, progress: _Progress
    ) -> bool:
        if user_write is None:
            return False
        try:
            await user_write
        except ParleyError as exc:
            logger.error("User message not stored", error=exc.code)
            if progress.failure is None and not progress.disconnected:
                progress.failure = exc
            return False
        return True

    async def _store_reply(
        self, prepared: PreparedChat, reply: str, complete: bool, metadata: dict[str, Any]
    ) -> bool:
        assert prepared.conversation_id is not None
        try:
            await self._memory.store(
                prepared.turn.identity,
                prepared.conversation_id,
                role="assistant",
                content=reply,
                message_id=prepared.reply_message_id,
                status="complete" if complete else "incomplete",
                metadata=metadata,
            )
        except ParleyError as exc:
            logger.error("Reply not stored", error=exc.code, message_id=prepared.reply_message_id)
            return False
        return True


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
