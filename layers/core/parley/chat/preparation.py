"""Preparing a chat turn: everything that can refuse it, before a byte of the stream.

    org settings → choices against the org's panels → rate limits, balance, context, routing
    advice and the safety plan (at once) → analysis and route (learned routing reorders it) →
    response cache → hold the estimate on the ledger

so that a refusal is a plain HTTP error (422, 402, 404, 429, 503) and consumes nothing but
the rate-limit slot of a request that was admitted. The caller's preferences (the stream's
smart defaults) are read alongside and not waited for: they can refuse nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from parley.budget.spend import SpendCapReached
from parley.chat.billing import Hold
from parley.chat.images import check_image_limits, image_reference
from parley.chat.rate_rules import rate_rules
from parley.chat.response_cache import ResponseCache
from parley.chat.turn import PreparedChat
from parley.errors import PaymentRequired, ValidationFailed
from parley.ids import new_id
from parley.metrics_catalog import OTHER
from parley.panels import PanelRegistry
from parley.preferences.smart import EMPTY_SMART_DEFAULTS, SmartDefaults
from parley.providers.base import ChatMessage, GenerationRequest
from parley.providers.tokens import IMAGE_TOKENS, estimate_tokens
from parley.routing.analysis import analyse
from parley.routing.chains import Chains, org_chains
from parley.routing.needs import Needs
from parley.routing.plan import RouteRequest, plan_route
from parley.telemetry import emit_metric
from parley.validation import summary

if TYPE_CHECKING:
    from parley.budget.ratelimit import RateLimiter
    from parley.chat.billing import Charges
    from parley.chat.memory import ConversationMemory
    from parley.chat.response_cache import CachedAnswer
    from parley.chat.safety import ChatSafety
    from parley.chat.turn import ChatTurn
    from parley.config import Settings
    from parley.guardrails.guard import SafetyPlan
    from parley.orgs.cache import OrgSettingsCache
    from parley.orgs.settings import OrgSettings
    from parley.providers.catalog import Catalog
    from parley.providers.registry import ProviderRegistry
    from parley.routing.learned import LearnedRouting
    from parley.routing.plan import Route

__all__ = ["Preparation"]


class Preparation:
    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Catalog,
        registry: ProviderRegistry,
        memory: ConversationMemory,
        orgs: OrgSettingsCache,
        limiter: RateLimiter,
        charges: Charges,
        cache: ResponseCache,
        preferences: SmartDefaults | None = None,
        learned: LearnedRouting | None = None,
        safety: ChatSafety | None = None,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._registry = registry
        self._memory = memory
        self._orgs = orgs
        self._limiter = limiter
        self._charges = charges
        self._cache = cache
        self._preferences = preferences
        self._learned = learned
        self._safety = safety

    async def prepare(self, turn: ChatTurn) -> PreparedChat:
        """Everything that can refuse the request, so that it fails as a plain HTTP error: a
        bad body (422), an empty balance (402), another user's conversation (404), a rate
        limit (429), an unconfigured model (503)."""
        limit = self._settings.max_message_chars
        if len(turn.message) > limit:
            raise ValidationFailed(f"message: at most {limit} characters")
        check_image_limits(
            [*turn.images, *(image for m in turn.history or () for image in m.images)],
            max_images=self._settings.max_images,
            max_bytes=self._settings.max_image_bytes,
        )
        org = await self._orgs.get(turn.identity.org_id)
        _check_choices(turn, org)
        # Started now and not waited for here: the stream's meta waits for it while the
        # provider works on its first token (parley.chat.pipeline), so it adds nothing there.
        smart_defaults = self._start_smart_defaults(turn, org)
        try:
            return await self._prepare(turn, org, smart_defaults)
        except BaseException:
            if smart_defaults is not None:
                smart_defaults.cancel()
            raise

    async def _prepare(
        self,
        turn: ChatTurn,
        org: OrgSettings,
        smart_defaults: asyncio.Future[dict[str, Any]] | None,
    ) -> PreparedChat:
        identity = turn.identity
        # Independent round trips at once. All finish before any refusal is raised, and only
        # the rate limiter consumes anything (nothing when it refuses).
        admitted = asyncio.ensure_future(self._limiter.acquire(rate_rules(identity, org)))
        balance_read = asyncio.ensure_future(self._charges.balance(identity.org_id))
        context_read = asyncio.ensure_future(self._context(turn))
        reads: list[asyncio.Future[Any]] = [admitted, balance_read, context_read]
        advice_read = self._advice_read(turn, org)
        if advice_read is not None:
            reads.append(advice_read)
        safety_read = self._safety_read(turn, org)
        if safety_read is not None:
            reads.append(safety_read)
        await asyncio.wait(reads)
        decision = admitted.result()
        if not decision.allowed:
            emit_metric(
                "RateLimitRefusals", MetricUnit.Count, 1, {}, {"scope": decision.scope or OTHER}
            )
        decision.raise_if_refused()
        context = context_read.result()
        balance = balance_read.result()
        conversation_id, new_conversation, history = context
        safety = None if safety_read is None else safety_read.result()

        system = turn.system or self._settings.system_prompt
        if self._safety is not None:
            system = self._safety.system_prompt(system, safety)
        prompt = turn.message + turn.prompt_suffix
        earlier = [m.content for m in history]
        messages = [*history, ChatMessage("user", prompt, images=turn.images), *turn.followups]
        route_request = RouteRequest(
            mode=turn.mode or org.default_mode,
            analysis=analyse(
                turn.message,
                history=earlier,
                attachments=turn.attachments,
                tools=turn.uses_tools,
                images=turn.image_count,
            ),
            prompt_tokens=_prompt_tokens(turn, system, messages),
            model=turn.model,
            max_tokens=turn.max_tokens,
            balance_tokens=balance,
            needs=Needs.of(messages, tools=turn.tools, response_schema=turn.response_schema),
        )
        route = self._route(route_request, org)
        if self._learned is not None:
            route = self._learned.apply(route, org_id=identity.org_id, org=org)
        cache_key, cached = None, None
        if safety is None or not safety.screening.flagged:
            # A flagged message is judged every time: no stored answer may skip its verdict.
            cache_key, cached = await self._cached(turn, org, route, system, messages)
        hold = Hold(new_id())
        if cached is None:
            try:
                route, hold = await self._charges.hold(
                    identity=identity,
                    route=route,
                    settings=org,
                    balance=balance,
                    charge_id=hold.charge_id,
                    cheaper=lambda left: self._cheaper(route_request, org, route, left),
                )
            except (PaymentRequired, SpendCapReached) as refused:
                # 402 or the spend cap's 429: refused before the stream, nothing consumed.
                reason = {"reason": refused.code}
                emit_metric("GuardRefusals", MetricUnit.Count, 1, {}, reason)
                raise
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
                json_object=turn.json_object,
                tools=turn.tools,
                tool_choice=turn.tool_choice,
                parallel_tool_calls=turn.parallel_tool_calls,
                response_schema=turn.response_schema,
            ),
            hold=hold,
            cache_key=cache_key,
            cached=cached,
            smart_defaults=smart_defaults,
            safety=safety,
        )

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

    def _advice_read(self, turn: ChatTurn, org: OrgSettings) -> asyncio.Future[None] | None:
        """The org's routing advice, when learned routing may use it and the copy held is older
        than its TTL: one read, beside the others (it never raises). None for a request that
        named a model, which learned routing leaves alone."""
        if self._learned is None or turn.model is not None:
            return None
        refresh = self._learned.refresh(turn.identity.org_id, org)
        return None if refresh is None else asyncio.ensure_future(refresh)

    def _safety_read(
        self, turn: ChatTurn, org: OrgSettings
    ) -> asyncio.Future[SafetyPlan | None] | None:
        """Stage 1's screening and the conversation's cool-down (a hot-store read, beside
        the others); None when no guardrail is wired."""
        if self._safety is None:
            return None
        return asyncio.ensure_future(self._safety.plan(turn, org))

    def _start_smart_defaults(
        self, turn: ChatTurn, org: OrgSettings
    ) -> asyncio.Future[dict[str, Any]] | None:
        """The caller's preferences for this request, resolving to the ``smart_defaults`` of
        meta (never raising: a chat goes on without them). None for the OpenAI-compatible
        endpoint, which has nowhere to put them and so does not pay for the read."""
        preferences = self._preferences
        if preferences is None or turn.endpoint != "stream":
            return None

        async def resolve() -> dict[str, Any]:
            stored = await preferences.read(turn.identity)
            if stored is None:
                return dict(EMPTY_SMART_DEFAULTS)
            return SmartDefaults.payload(
                stored, message=turn.message, requested_panel=turn.requested_panel, org=org
            )

        return asyncio.ensure_future(resolve())

    def _chains(self, org: OrgSettings) -> Chains:
        return Chains(
            self._catalog,
            self._registry.is_available,
            org_chains(org),
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
            extra=_cache_extra(turn, messages),
        )
        return key, await self._cache.get(key)


def _prompt_tokens(turn: ChatTurn, system: str, messages: list[ChatMessage]) -> int:
    """About how many tokens the prompt is: its text, the tools' definitions, the calls in
    the conversation and its images."""
    texts = [m.content for m in messages]
    texts += [call.arguments for m in messages for call in m.tool_calls]
    texts += [json.dumps(dataclasses.asdict(tool)) for tool in turn.tools]
    images = sum(len(m.images) for m in messages)
    return estimate_tokens(system, texts) + IMAGE_TOKENS * images


def _cache_extra(turn: ChatTurn, messages: list[ChatMessage]) -> dict[str, Any]:
    """What decides the answer beyond the messages' text (``ResponseCache.key_for``): empty
    for a plain text request, whose key then stays what it always was."""
    extra: dict[str, Any] = {}
    if turn.tools:
        extra["tools"] = [dataclasses.asdict(tool) for tool in turn.tools]
    if turn.tool_choice is not None:
        extra["tool_choice"] = dataclasses.asdict(turn.tool_choice)
    if turn.parallel_tool_calls is not None:
        extra["parallel_tool_calls"] = turn.parallel_tool_calls
    if turn.response_schema is not None:
        extra["response_schema"] = dataclasses.asdict(turn.response_schema)
    if turn.json_object:
        extra["json_object"] = True
    parts = [_message_parts(message) for message in messages]
    if any(parts):
        extra["message_parts"] = parts
    return extra


def _message_parts(message: ChatMessage) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    if message.images:
        parts["images"] = [image_reference(image) for image in message.images]
    if message.tool_calls:
        parts["tool_calls"] = [dataclasses.asdict(call) for call in message.tool_calls]
    if message.tool_call_id is not None:
        parts["tool_call_id"] = message.tool_call_id
    return parts


def _check_choices(turn: ChatTurn, org: OrgSettings) -> None:
    """A request's ``choices`` for a panel its org has (built-in or its own) are the learner's
    votes: each must be a field of the panel with a value the field takes, else 422 with each
    problem's path and ``allowed`` (the field's options, or the panel's fields), before
    anything is stored or charged. Choices without a ``panel``, or for a panel the org does
    not have, are stored as they come (nothing is learned from them)."""
    panel, choices = turn.requested_panel, turn.metadata.get("choices")
    if panel is None or not isinstance(choices, dict) or not choices:
        return
    registry = PanelRegistry.for_org(org)
    if panel not in registry.models:
        return
    found = registry.choice_problems(panel, choices, prefix=("body", "choices"))
    if found:
        raise ValidationFailed(summary(found), details=found)
