"""The chat pipeline, the same for every endpoint:

    prepare (``parley.chat.preparation``: settings, limits, balance, context, route, cache,
    hold, the safety plan) → store the user's message (concurrently with the provider call;
    no token is relayed before it is stored) → relay the chain's stream, failing over when a
    model breaks → store the reply (complete, or incomplete with what was delivered) → record
    one usage event per provider call, charge their sum → cache a complete deterministic
    answer → done (or error).

A message the guardrail's prefilter flagged (``parley.chat.safety``) is judged beside the
provider call, and no token is relayed before the verdict: a crisis replaces the answer with
the safe-messaging reply (a ``Guarded`` event, then its text), whatever the model did, even
when every model failed; a worry about someone else gets the answer, then resources.

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

from parley.chat.events import ClientGone, Done, Failed, Meta, Partial, Switched, Token, ToolCalled
from parley.chat.outcome import (
    RequestFacts,
    replaced_by_guardrail,
    summarise,
    with_classifier_call,
    with_guardrail_mark,
)
from parley.chat.partials import PartialObjects
from parley.chat.response_cache import CachedAnswer
from parley.chat.restream import pieces
from parley.chat.safety import decision_record
from parley.errors import ParleyError
from parley.providers.base import ChatMessage, TextDelta, ToolCall
from parley.routing.attempts import Held, Switch
from parley.telemetry import logger

if TYPE_CHECKING:
    from parley.chat.billing import Charges
    from parley.chat.events import ChatEvent
    from parley.chat.memory import ConversationMemory
    from parley.chat.outcome import Outcome
    from parley.chat.preparation import Preparation
    from parley.chat.response_cache import ResponseCache
    from parley.chat.safety import ChatSafety, SafetyCheck
    from parley.chat.turn import ChatTurn, Emit, PreparedChat
    from parley.chat.usage_records import Accounting
    from parley.guardrails.guard import Decision
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
    check: SafetyCheck | None = None  # a flagged message's decision, being made
    decision: Decision | None = None  # once known (before the first token)
    tool_calls: list[ToolCall] = field(default_factory=list)
    partials: PartialObjects = field(default_factory=PartialObjects)


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
        safety: ChatSafety | None = None,
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
        self._safety = safety

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
        if self._safety is not None:
            progress.check = self._safety.check(prepared)
        user_write = self._start_user_write(prepared, progress.check)
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
                await self._answer(prepared, after_meta, progress, user_write)
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

    def _start_user_write(
        self, prepared: PreparedChat, check: SafetyCheck | None
    ) -> asyncio.Task[None] | None:
        if not prepared.turn.stores or prepared.conversation_id is None:
            return None
        turn = prepared.turn
        conversation_id = prepared.conversation_id

        async def write() -> None:
            metadata = {**turn.metadata, "request_id": turn.request_id}
            if check is not None:
                # A flagged message is stored with its verdict; the first token waits for
                # both anyway, so waiting here costs nothing.
                metadata["guardrail"] = decision_record(await check.decision())
            await self._memory.store(
                turn.identity,
                conversation_id,
                role="user",
                content=turn.message,
                message_id=prepared.user_message_id,
                metadata=metadata,
                new_conversation=prepared.new_conversation,
            )

        # Started now, awaited before the first token: the write overlaps the provider's
        # time to first token instead of adding to it.
        return asyncio.ensure_future(write())

    async def _answer(
        self,
        prepared: PreparedChat,
        emit: Emit,
        progress: _Progress,
        user_write: asyncio.Task[None] | None,
    ) -> None:
        """The model's answer, through the guardrail's verdict when the message was flagged."""
        try:
            await self._relay(prepared, emit, progress, user_write)
        except _Replaced as replaced:
            await self._replace(prepared, replaced.decision, emit, progress, user_write)
            return
        except ParleyError:
            # Every model failed: a crisis still gets its safe reply.
            decision = await self._verdict(progress) if not progress.produced else None
            if decision is None or not decision.crisis:
                raise
            await self._replace(prepared, decision, emit, progress, user_write)
            return
        decision = await self._verdict(progress)
        if decision is not None and decision.crisis:  # an answer without a single token
            await self._replace(prepared, decision, emit, progress, user_write)
        elif decision is not None and decision.action == "resources":
            assert self._safety is not None
            _, footer = self._safety.footer(prepared, decision)
            for piece in pieces(footer):
                await self._token(prepared, piece, emit, progress, user_write)

    async def _verdict(self, progress: _Progress) -> Decision | None:
        """The flagged message's decision (waited for once), None for any other message."""
        if progress.check is not None and progress.decision is None:
            progress.decision = await progress.check.decision()
        return progress.decision

    async def _gate(self, prepared: PreparedChat, emit: Emit, progress: _Progress) -> None:
        """Before the first token of a flagged message: raise _Replaced on a crisis; announce
        the resources that will follow an answer about someone else at risk."""
        decision = await self._verdict(progress)
        if decision is None:
            return
        if decision.crisis:
            raise _Replaced(decision)
        if decision.action == "resources":
            assert self._safety is not None
            event, _ = self._safety.footer(prepared, decision)
            await emit(event)

    async def _replace(
        self,
        prepared: PreparedChat,
        decision: Decision,
        emit: Emit,
        progress: _Progress,
        user_write: asyncio.Task[None] | None,
    ) -> None:
        """The safe-messaging reply in place of the answer, streamed like one."""
        assert self._safety is not None
        progress.decision = decision
        event, text = self._safety.safe_reply(prepared, decision)
        await emit(event)
        for piece in pieces(text):
            await self._token(prepared, piece, emit, progress, user_write)
        if user_write is not None:
            await user_write

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
                if isinstance(event, TextDelta | ToolCall):
                    if progress.check is not None and progress.decision is None:
                        await self._gate(prepared, emit, progress)
                    if isinstance(event, ToolCall):
                        await self._tool_call(prepared, event, emit, progress, user_write)
                    else:
                        await self._token(prepared, event.text, emit, progress, user_write)
                elif isinstance(event, Held):
                    await self._held(prepared, event.text, emit, progress)
                elif isinstance(event, Switch):
                    progress.partials.restart()
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
        await self._first_output(prepared, progress, user_write)
        progress.produced.append(text)
        await emit(Token(text))

    async def _tool_call(
        self,
        prepared: PreparedChat,
        call: ToolCall,
        emit: Emit,
        progress: _Progress,
        user_write: asyncio.Task[None] | None,
    ) -> None:
        await self._first_output(prepared, progress, user_write)
        progress.tool_calls.append(call)
        await emit(ToolCalled(len(progress.tool_calls) - 1, call))

    @staticmethod
    async def _first_output(
        prepared: PreparedChat, progress: _Progress, user_write: asyncio.Task[None] | None
    ) -> None:
        """Before the answer's first token or call: the question is stored (never answer a
        message that was not), and the time to first token is taken."""
        if progress.ttft_ms is None:
            if user_write is not None:
                await user_write
            progress.ttft_ms = _elapsed_ms(prepared.turn.started)

    async def _held(
        self, prepared: PreparedChat, text: str, emit: Emit, progress: _Progress
    ) -> None:
        """A structured answer being written: on the native stream, the object so far
        (throttled), never before a flagged message's verdict (no model text goes out
        before it)."""
        if prepared.turn.endpoint != "stream":
            return
        judged = progress.check is None or progress.decision is not None
        due, value = progress.partials.add(text, may_send=judged)
        if due:
            await emit(Partial(value))

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
        facts = RequestFacts(
            request_id=turn.request_id,
            org_id=turn.identity.org_id,
            user_id=turn.identity.user_id,
            endpoint=turn.endpoint,
            conversation_id=prepared.conversation_id,
            message_id=prepared.reply_message_id,
            latency_ms=latency_ms,
            panel=_panel(prepared),
            learned_defaults=_learned_defaults(prepared),
            images=prepared.request.image_count,
        )
        outcome = summarise(
            facts,
            prepared.route,
            progress.attempts,
            failure=progress.failure,
            disconnected=progress.disconnected,
            cached=prepared.cached,
        )
        outcome = await self._guardrail_outcome(prepared, progress, facts, outcome)
        reply = "".join(progress.produced)
        # The writes are independent, so they overlap; none of them raises.
        stored_reply, *_ = await asyncio.gather(
            self._store_reply(prepared, reply, outcome, progress, user_stored=user_stored),
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

    async def _guardrail_outcome(
        self, prepared: PreparedChat, progress: _Progress, facts: RequestFacts, outcome: Outcome
    ) -> Outcome:
        """The outcome with what the guardrail did: the classifier model's call as a usage
        event of its own (charged with the rest), and a replaced answer complete, its model's
        call not counted as a failure. A decision still pending (the client left before it)
        is dropped; a known one is recorded and may start the cool-down."""
        check = progress.check
        if check is None or self._safety is None:
            return outcome
        if progress.decision is None:
            check.cancel()
            return outcome
        decision = progress.decision
        await self._safety.conclude(prepared, decision)
        outcome = with_guardrail_mark(outcome, decision)
        if decision.model is not None and decision.fail_safe != "no_model":
            spec = self._catalog.get(decision.model)
            if spec is not None:
                outcome = with_classifier_call(outcome, facts, prepared.route, spec, decision)
        if decision.crisis and not progress.disconnected:
            outcome = replaced_by_guardrail(outcome)
        return outcome

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
        self,
        prepared: PreparedChat,
        reply: str,
        outcome: Outcome,
        progress: _Progress,
        *,
        user_stored: bool,
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
        if prepared.safety is not None and prepared.safety.cooldown:
            metadata["safety_prompt"] = True  # answered under the safety system prompt
        if progress.decision is not None:
            metadata["guardrail"] = decision_record(progress.decision)
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


class _Replaced(Exception):
    """The verdict on a flagged message is a crisis: the model's stream is closed unread."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("replaced by the safe reply")
        self.decision = decision


def _panel(prepared: PreparedChat) -> str | None:
    """The panel smart defaults found, once they are known (meta waits for them, so a stream
    that settles has them; the OpenAI-compatible endpoint has none)."""
    pending = prepared.smart_defaults
    if pending is None or not pending.done() or pending.cancelled() or pending.exception():
        return None
    panel = pending.result().get("panel")
    return panel if isinstance(panel, str) else None


def _learned_defaults(prepared: PreparedChat) -> bool:
    """Whether the smart defaults meta carried held a value the learning job learned."""
    pending = prepared.smart_defaults
    if pending is None or not pending.done() or pending.cancelled() or pending.exception():
        return False
    values = pending.result().get("values")
    if not isinstance(values, dict):
        return False
    return any(isinstance(v, dict) and v.get("source") == "learned" for v in values.values())


def _discard(task: asyncio.Future[None]) -> None:
    """Stop ``task`` if it still runs, and take its exception if it ended with one (a client
    gone while meta was sent), so that nothing is logged as never retrieved."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
