"""The chat pipeline, the same for every endpoint:

    identity → org settings → rate limits, balance and context (at once) → analysis and route
    → response cache → hold the estimate on the ledger → store the user's message
    (concurrently with the provider call; no token is relayed before it is stored) → relay
    the chain's stream, failing over when a model breaks → store the reply (complete, or
    incomplete with what was delivered) → record one usage event per provider call, charge
    their sum → cache a complete deterministic answer → done (or error).

``prepare`` does everything that can refuse the request, so that a refusal is a plain HTTP
error (422, 402, 404, 429, 503) and nothing has been consumed by it; ``run`` streams. A client
that disconnects cancels the upstream call; what it was shown is stored as an incomplete reply
and charged. The failover engine (``parley.routing.failover``) owns the timeouts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.chat.cache import CachedAnswer, ResponseCache
from parley.chat.charges import Hold
from parley.chat.events import ClientGone, Done, Failed, Meta, Switched, Token
from parley.chat.limits import rate_rules
from parley.chat.outcome import RequestFacts, summarise
from parley.chat.replay import pieces
from parley.errors import ParleyError, ValidationFailed
from parley.ids import new_id
from parley.providers.base import ChatMessage, GenerationRequest, TextDelta
from parley.providers.tokens import estimate_tokens
from parley.routing.analysis import analyse
from parley.routing.attempts import Switch
from parley.routing.chains import Chains
from parley.routing.plan import RouteRequest, plan_route
from parley.telemetry import logger

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.budget.ratelimit import LimitDecision, RateLimiter
    from parley.chat.accounting import Accounting
    from parley.chat.charges import Charges
    from parley.chat.events import ChatEvent
    from parley.chat.memory import ConversationMemory
    from parley.chat.outcome import Outcome
    from parley.config import Settings
    from parley.orgs.cache import OrgSettingsCache
    from parley.orgs.settings import Mode, OrgSettings
    from parley.providers.base import Finish
    from parley.providers.catalog import Catalog
    from parley.providers.registry import ProviderRegistry
    from parley.routing.analysis import AttachmentInfo
    from parley.routing.attempts import Attempt
    from parley.routing.failover import Failover
    from parley.routing.plan import Route
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
    metadata: dict[str, Any] = field(default_factory=dict)  # stored with the user's message
    started: float = field(default_factory=time.perf_counter)

    @property
    def stores(self) -> bool:
        return self.history is None


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
        settings: Settings,
        catalog: Catalog,
        registry: ProviderRegistry,
        memory: ConversationMemory,
        accounting: Accounting,
        orgs: OrgSettingsCache,
        limiter: RateLimiter,
        charges: Charges,
        failover: Failover,
        cache: ResponseCache,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._registry = registry
        self._memory = memory
        self._accounting = accounting
        self._orgs = orgs
        self._limiter = limiter
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
        """Everything that can refuse the request, so that it fails as a plain HTTP error: a
        bad body (422), an empty balance (402), another user's conversation (404), a rate
        limit (429), an unconfigured model (503)."""
        limit = self._settings.max_message_chars
        if len(turn.message) > limit:
            raise ValidationFailed(f"message: at most {limit} characters")
        identity = turn.identity
        org = await self._orgs.get(identity.org_id)
        # Three independent round trips at once. All finish before any refusal is raised, and
        # only the rate limiter consumes anything (nothing when it refuses).
        decision: LimitDecision | BaseException
        balance: int | BaseException | None
        context: tuple[str | None, bool, list[ChatMessage]] | BaseException
        decision, balance, context = await asyncio.gather(
            self._limiter.acquire(rate_rules(identity, org)),
            self._charges.balance(identity.org_id),
            self._context(turn),
            return_exceptions=True,
        )
        for result in (decision, context, balance):
            if isinstance(result, BaseException):
                raise result
        assert not isinstance(decision, BaseException)
        assert not isinstance(balance, BaseException)
        assert not isinstance(context, BaseException)
        decision.raise_if_refused()
        conversation_id, new_conversation, history = context

        system = turn.system or self._settings.system_prompt
        prompt = turn.message + turn.prompt_suffix
        route_request = RouteRequest(
            mode=turn.mode or org.default_mode,
            analysis=analyse(
                turn.message,
                history=[m.content for m in history],
                attachments=turn.attachments,
                tools=turn.tools,
            ),
            prompt_tokens=estimate_tokens(system, [m.content for m in history], prompt),
            model=turn.model,
            max_tokens=turn.max_tokens,
            balance_tokens=balance,
        )
        route = self._route(route_request, org)
        messages = [*history, ChatMessage("user", prompt)]
        cache_key, cached = await self._cached(turn, org, route, system, messages)
        hold = Hold(new_id())
        if cached is None:
            route, hold = await self._charges.hold(
                identity=identity,
                route=route,
                settings=org,
                balance=balance,
                charge_id=hold.charge_id,
                cheaper=lambda left: self._cheaper(route_request, org, route, left),
            )
        return PreparedChat(
            turn=turn,
            org=org,
            route=route,
            conversation_id=conversation_id,
            new_conversation=new_conversation,
            user_message_id=new_id(),
            reply_message_id=new_id(),
            history=history,
            request=GenerationRequest(
                messages=messages,
                system=system,
                max_tokens=route.max_tokens,
                temperature=turn.temperature,
            ),
            hold=hold,
            cache_key=cache_key,
            cached=cached,
        )

    async def run(self, prepared: PreparedChat, emit: Emit) -> None:
        """Stream one answer through ``emit``: ``Meta``, ``Token``s (and ``Switched``), then
        ``Done`` or ``Failed``. Raises ClientGone or CancelledError when the client left,
        after storing and charging what it had been shown."""
        progress = _Progress()
        user_write = self._start_user_write(prepared)
        try:
            await emit(self._meta(prepared))
            if prepared.cached is not None:
                await self._replay(prepared, prepared.cached, emit, progress, user_write)
            else:
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

    # prepare --------------------------------------------------------------------------------

    async def _context(self, turn: ChatTurn) -> tuple[str | None, bool, list[ChatMessage]]:
        if turn.history is not None:
            return None, False, list(turn.history)
        if turn.conversation_id is not None:
            return (
                turn.conversation_id,
                False,
                await self._memory.context(turn.identity, turn.conversation_id),
            )
        return new_id(), True, []

    def _chains(self, org: OrgSettings) -> Chains:
        tiers = org.tiers
        return Chains(
            self._catalog,
            self._registry.is_available,
            {
                "light": tiers.light.models,
                "standard": tiers.standard.models,
                "heavy": tiers.heavy.models,
                "long_context": org.long_context.models,
                "cheap": org.cheap_models,
                "smart": org.smart_models,
            },
            preferred=self._settings.default_model,
        )

    def _route(self, request: RouteRequest, org: OrgSettings) -> Route:
        return plan_route(request, catalog=self._catalog, chains=self._chains(org), settings=org)

    def _cheaper(self, request: RouteRequest, org: OrgSettings, refused: Route, left: int) -> Route:
        """An ``auto`` request the balance cannot pay for: the cheap chain, with the output
        budget the balance covers."""
        budget = min(left, org.tiers.light.max_tokens)
        cheap = self._route(dataclasses.replace(request, mode="cheap", max_tokens=budget), org)
        reason = (
            f"auto mode: the balance cannot pay for {refused.primary.name} with "
            f"{refused.max_tokens} tokens, so the cheap chain with {budget}; "
            f"{request.analysis.reason()}"
        )
        return dataclasses.replace(cheap, mode="auto", reason=reason)

    async def _cached(
        self,
        turn: ChatTurn,
        org: OrgSettings,
        route: Route,
        system: str,
        messages: list[ChatMessage],
    ) -> tuple[str | None, CachedAnswer | None]:
        if not org.cache.enabled or not ResponseCache.is_cacheable(turn.temperature, turn.cache):
            return None, None
        key = self._cache.key_for(
            org_id=turn.identity.org_id,
            model=route.primary.name,
            system=system,
            messages=[(m.role, m.content) for m in messages],
            max_tokens=route.max_tokens,
            temperature=turn.temperature,
        )
        return key, await self._cache.get(key)

    # run ------------------------------------------------------------------------------------

    def _meta(self, prepared: PreparedChat) -> Meta:
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
            self._store_reply(prepared, reply, outcome) if user_stored else _false(),
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
        except ParleyError as exc:
            logger.error("User message not stored", error=exc.code)
            if progress.failure is None and not progress.disconnected:
                progress.failure = exc
            return False
        return True

    async def _store_reply(self, prepared: PreparedChat, reply: str, outcome: Outcome) -> bool:
        if prepared.conversation_id is None:
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


async def _false() -> bool:
    return False


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
