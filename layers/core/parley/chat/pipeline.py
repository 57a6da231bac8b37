"""The chat pipeline, the same for every endpoint:

    prepare (``parley.chat.preparation``: settings, limits, balance, context, route, cache,
    hold) → store the user's message (concurrently with the provider call; no token is
    relayed before it is stored) → relay the chain's stream, failing over when a model breaks
    → store the reply (complete, or incomplete with what was delivered) → record one usage
    event per provider call, charge their sum → cache a complete deterministic answer → done
    (or error).

A client that disconnects cancels the upstream call; what it was shown is stored as an
incomplete reply and charged. The failover engine (``parley.routing.failover``) owns the
timeouts.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.chat.events import ClientGone, Done, Failed, Meta, Switched, Token
from parley.chat.outcome import RequestFacts, summarise
from parley.chat.response_cache import CachedAnswer
from parley.chat.restream import pieces
from parley.errors import ParleyError
from parley.providers.base import ChatMessage, TextDelta
from parley.routing.attempts import Switch
from parley.telemetry import logger

if TYPE_CHECKING:
    from parley.chat.billing import Charges
    from parley.chat.events import ChatEvent
    from parley.chat.memory import ConversationMemory
    from parley.chat.outcome import Outcome
    from parley.chat.preparation import Preparation
    from parley.chat.response_cache import ResponseCache
    from parley.chat.turn import ChatTurn, Emit, PreparedChat
    from parley.chat.usage_records import Accounting
    from parley.providers.base import Finish
    from parley.providers.catalog import Catalog
    from parley.providers.registry import ProviderRegistry
    from parley.routing.attempts import Attempt
    from parley.routing.failover import Failover

__all__ = ["ChatService"]


@dataclass
class _Progress:
    attempts: list[Attempt] = field(default_factory=list)
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
        preparation: Preparation,
        catalog: Catalog,
        registry: ProviderRegistry,
        memory: ConversationMemory,
        accounting: Accounting,
        charges: Charges,
        failover: Failover,
        cache: ResponseCache,
    ) -> None:
        # ``preparation`` shares the memory, charges and cache given here: it decides before
        # the stream what the stream then stores, settles and caches.
        self._preparation = preparation
        self._catalog = catalog
        self._registry = registry
        self._memory = memory
        self._accounting = accounting
        self._charges = charges
        self._failover = failover
        self._cache = cache

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def registry(self) -> ProviderRegistry:
        return self._registry

    async def prepare(self, turn: ChatTurn) -> PreparedChat:
        """Everything that can refuse the request (``parley.chat.preparation``)."""
        return await self._preparation.prepare(turn)

    async def run(self, prepared: PreparedChat, emit: Emit) -> None:
        """Stream one answer through ``emit``: ``Meta``, ``Token``s (and ``Switched``), then
        ``Done`` or ``Failed``. Raises ClientGone or CancelledError when the client left,
        after storing and charging what it had been shown."""
        progress = _Progress()
        user_write = self._start_user_write(prepared)
        # Meta goes out once the smart defaults are read, while the provider works on its
        # first token; every later event waits for meta, so meta stays first on the wire.
        meta = asyncio.ensure_future(self._send_meta(prepared, emit))

        async def after_meta(event: ChatEvent) -> None:
            await meta
            await emit(event)

        try:
            if prepared.cached is not None:
                await self._replay(prepared, prepared.cached, after_meta, progress, user_write)
            else:
                await self._relay(prepared, after_meta, progress, user_write)
        except ParleyError as exc:
            progress.failure = exc
        except (asyncio.CancelledError, ClientGone):
            progress.disconnected = True
            _discard(meta)
            raise
        except Exception:  # noqa: BLE001 (a bug: still an error event, and after meta)
            logger.exception("Chat failed")
            progress.failure = ParleyError()
        finally:
            # Shielded: a disconnect cancels this task, and what was said must still be kept.
            await asyncio.shield(self._settle_or_fail(prepared, progress, user_write))
        if progress.failure is not None:
            await after_meta(Failed(progress.failure))
        else:
            assert progress.done is not None
            await after_meta(progress.done)

    # run ------------------------------------------------------------------------------------

    async def _send_meta(self, prepared: PreparedChat, emit: Emit) -> None:
        pending = prepared.smart_defaults
        await emit(self._meta(prepared, {} if pending is None else await pending))

    def _meta(self, prepared: PreparedChat, smart_defaults: dict[str, Any]) -> Meta:
        route, cached = prepared.route, prepared.cached
        provider = cached.provider if cached else route.primary.provider
        model = cached.model if cached else route.primary.name
        return Meta(
            request_id=prepared.turn.request_id,
            conversation_id=prepared.conversation_id,
            message_id=prepared.reply_message_id,
            route={
                "provider": provider,
                "model": model,
                "tier": route.tier,
                "mode": route.mode,
                "route": route.name,
                "task_type": route.analysis.task_type,
                "complexity": route.analysis.complexity,
                "reason": f"cached answer; {route.reason}" if cached else route.reason,
                "fallbacks": [] if cached else [spec.name for spec in route.chain[1:]],
                "max_tokens": route.max_tokens,
            },
            context={"message_count": len(prepared.history)},
            smart_defaults=smart_defaults,
            created=int(time.time()),
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
        stream = self._failover.stream(prepared.route, prepared.request, progress.attempts)
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    await self._token(prepared, event.text, emit, progress, user_write)
                elif isinstance(event, Switch):
                    await emit(
                        Switched(
                            source={"provider": event.source.provider, "model": event.source.name},
                            target={"provider": event.target.provider, "model": event.target.name},
                            reason=event.reason,
                            after_tokens=event.after_tokens,
                        )
                    )
                else:
                    progress.finish = event
        if user_write is not None:
            await user_write  # an answer without tokens still needs its question stored

    async def _replay(
        self,
        prepared: PreparedChat,
        cached: CachedAnswer,
        emit: Emit,
        progress: _Progress,
        user_write: asyncio.Task[None] | None,
    ) -> None:
        for piece in pieces(cached.text):
            await self._token(prepared, piece, emit, progress, user_write)
        if user_write is not None:
            await user_write

    async def _token(
        self,
        prepared: PreparedChat,
        text: str,
        emit: Emit,
        progress: _Progress,
        user_write: asyncio.Task[None] | None,
    ) -> None:
        if progress.ttft_ms is None:
            if user_write is not None:
                await user_write  # never answer a message that was not stored
            progress.ttft_ms = _elapsed_ms(prepared.turn.started)
        progress.produced.append(text)
        await emit(Token(text))

    async def _settle_or_fail(
        self, prepared: PreparedChat, progress: _Progress, user_write: asyncio.Task[None] | None
    ) -> None:
        """``_settle``, whose writes raise nothing they expect; a bug in one still ends the
        stream in the protocol's order (meta, then an error), never an error before meta."""
        try:
            await self._settle(prepared, progress, user_write)
        except Exception:  # noqa: BLE001
            logger.exception("Chat not settled")
            progress.failure = progress.failure or ParleyError()

    async def _settle(
        self, prepared: PreparedChat, progress: _Progress, user_write: asyncio.Task[None] | None
    ) -> None:
        turn = prepared.turn
        user_stored = await self._user_stored(user_write, progress)
        latency_ms = _elapsed_ms(turn.started)
        outcome = summarise(
            RequestFacts(
                request_id=turn.request_id,
                org_id=turn.identity.org_id,
                user_id=turn.identity.user_id,
                endpoint=turn.endpoint,
                conversation_id=prepared.conversation_id,
                message_id=prepared.reply_message_id,
                latency_ms=latency_ms,
                panel=_panel(prepared),
            ),
            prepared.route,
            progress.attempts,
            failure=progress.failure,
            disconnected=progress.disconnected,
            cached=prepared.cached,
        )
        reply = "".join(progress.produced)
        # The writes are independent, so they overlap; none of them raises.
        stored_reply, *_ = await asyncio.gather(
            self._store_reply(prepared, reply, outcome, user_stored=user_stored),
            self._accounting.record_all(outcome.events),
            self._charges.settle(prepared.hold, outcome.usage, outcome.cost_usd),
            self._cache_answer(prepared, reply, outcome),
        )
        if stored_reply and prepared.conversation_id is not None:
            history = [
                *prepared.history,
                ChatMessage("user", turn.message),
                ChatMessage("assistant", reply),
            ]
            await self._memory.remember(turn.identity, prepared.conversation_id, history)
        progress.done = Done(
            finish_reason=outcome.finish_reason,
            input_tokens=outcome.usage.input_tokens,
            output_tokens=outcome.usage.output_tokens,
            usage_estimated=outcome.usage.estimated,
            cost_usd=outcome.cost_usd,
            latency_ms=latency_ms,
            ttft_ms=progress.ttft_ms,
            message_id=prepared.reply_message_id,
            model=outcome.model,
            provider=outcome.provider,
            cached=prepared.cached is not None,
        )

    async def _cache_answer(self, prepared: PreparedChat, reply: str, outcome: Outcome) -> None:
        if not outcome.complete or prepared.cache_key is None or prepared.cached is not None:
            return
        await self._cache.put(
            prepared.cache_key,
            CachedAnswer(
                text=reply,
                model=outcome.model,
                provider=outcome.provider,
                finish_reason=outcome.finish_reason,
                input_tokens=outcome.usage.input_tokens,
                output_tokens=outcome.usage.output_tokens,
                cost_usd=outcome.cost_usd,
                created_at=time.time(),
            ),
            ttl_seconds=prepared.org.cache.ttl_seconds,
        )

    async def _user_stored(
        self, user_write: asyncio.Task[None] | None, progress: _Progress
    ) -> bool:
        if user_write is None:
            return False
        try:
            await user_write
        except Exception as exc:  # noqa: BLE001 (any failure: the reply is then not stored)
            failure = exc if isinstance(exc, ParleyError) else ParleyError()
            logger.error("User message not stored", error=failure.code, exc_info=exc)
            if progress.failure is None and not progress.disconnected:
                progress.failure = failure
            return False
        return True

    async def _store_reply(
        self, prepared: PreparedChat, reply: str, outcome: Outcome, *, user_stored: bool
    ) -> bool:
        """Store the reply beside its question; never a reply to a question not stored."""
        if not user_stored or prepared.conversation_id is None:
            return False
        route = prepared.route
        metadata: dict[str, Any] = {
            "request_id": prepared.turn.request_id,
            "provider": outcome.provider,
            "model": outcome.model,
            "finish_reason": outcome.finish_reason,
            "input_tokens": outcome.usage.input_tokens,
            "output_tokens": outcome.usage.output_tokens,
            "usage_estimated": outcome.usage.estimated,
            "cost_usd": outcome.cost_usd,
            "route": {"name": route.name, "tier": route.tier, "mode": route.mode},
            # What analytics files the reply's feedback under, with its model and route.
            "task_type": route.analysis.task_type,
            "panel": _panel(prepared),
            "attempts": len(outcome.events),
            "cached": prepared.cached is not None,
        }
        if outcome.error_code:
            metadata["error_code"] = outcome.error_code
        try:
            await self._memory.store(
                prepared.turn.identity,
                prepared.conversation_id,
                role="assistant",
                content=reply,
                message_id=prepared.reply_message_id,
                status="complete" if outcome.complete else "incomplete",
                metadata=metadata,
            )
        except ParleyError as exc:
            logger.error("Reply not stored", error=exc.code, message_id=prepared.reply_message_id)
            return False
        return True


def _panel(prepared: PreparedChat) -> str | None:
    """The panel smart defaults found, once they are known (meta waits for them, so a stream
    that settles has them; the OpenAI-compatible endpoint has none)."""
    pending = prepared.smart_defaults
    if pending is None or not pending.done() or pending.cancelled() or pending.exception():
        return None
    panel = pending.result().get("panel")
    return panel if isinstance(panel, str) else None


def _discard(task: asyncio.Future[None]) -> None:
    """Stop ``task`` if it still runs, and take its exception if it ended with one (a client
    gone while meta was sent), so that nothing is logged as never retrieved."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
