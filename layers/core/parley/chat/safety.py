"""The crisis guardrail in a chat turn (``parley.guardrails`` decides; this says what the chat
does with it).

Preparation screens every message (stage 1, microseconds) and reads whether the conversation
is in a safety cool-down, beside its other reads; a conversation in cool-down gets the safety
system prompt. The stream then, for a flagged message only, starts the decision beside the
main model's call and holds the first token until it is known (``SafetyCheck``): a crisis
replaces the answer with the safe reply (``Guarded`` first, then its text as tokens), a worry
about someone else adds resources after the answer. Every decision is recorded without the
message's text: a log line, EMF metrics, the mark on the stored messages, and the cool-down.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from parley.chat.events import Guarded
from parley.guardrails.guard import SafetyPlan
from parley.guardrails.resources import country_for
from parley.guardrails.safe_reply import SAFETY_SYSTEM_PROMPT, helper_footer, safe_reply
from parley.telemetry import emit_metric, logger

if TYPE_CHECKING:
    from parley.chat.turn import ChatTurn, PreparedChat
    from parley.guardrails.cooldown import SafetyCooldown
    from parley.guardrails.guard import CrisisGuard, Decision
    from parley.guardrails.safe_reply import SafeReply
    from parley.orgs.settings import OrgSettings

__all__ = ["ChatSafety", "SafetyCheck"]


class SafetyCheck:
    """One flagged message's decision, started beside the main model's call."""

    def __init__(self, task: asyncio.Task[Decision]) -> None:
        self._task = task

    async def decision(self) -> Decision:
        return await asyncio.shield(self._task)

    def cancel(self) -> None:
        if not self._task.done():
            self._task.cancel()


class ChatSafety:
    def __init__(self, guard: CrisisGuard, cooldown: SafetyCooldown) -> None:
        self._guard = guard
        self._cooldown = cooldown

    async def plan(self, turn: ChatTurn, org: OrgSettings) -> SafetyPlan | None:
        """None when the org turned the guardrail off."""
        if not org.guardrails.enabled:
            return None
        screening = self._guard.screen(turn.message)
        cooldown = False
        # A new conversation has no cool-down to read (the completions endpoint keeps the
        # user's: it has no conversation of Parley's).
        new_conversation = turn.endpoint == "stream" and turn.conversation_id is None
        if org.guardrails.cooldown_minutes > 0 and not new_conversation:
            cooldown = await self._cooldown.active(turn.identity, turn.conversation_id)
        return SafetyPlan(screening, cooldown)

    @staticmethod
    def system_prompt(system: str, plan: SafetyPlan | None) -> str:
        if plan is None or not plan.cooldown:
            return system
        return f"{system}\n\n{SAFETY_SYSTEM_PROMPT}" if system else SAFETY_SYSTEM_PROMPT

    def check(self, prepared: PreparedChat) -> SafetyCheck | None:
        """The decision on a flagged message, started now; None for any other message."""
        plan = prepared.safety
        if plan is None or not plan.screening.flagged:
            return None
        settings = prepared.org.guardrails
        return SafetyCheck(
            asyncio.ensure_future(
                self._guard.decide(prepared.turn.message, plan.screening, settings)
            )
        )

    def safe_reply(self, prepared: PreparedChat, decision: Decision) -> tuple[Guarded, str]:
        """The event and the text that replace the answer on a crisis verdict."""
        language = decision.screening.language
        own = prepared.org.guardrails.safe_replies.get(language)
        reply = safe_reply(language, self._country(prepared, decision), own)
        return self._event(decision, reply), reply.text

    def footer(self, prepared: PreparedChat, decision: Decision) -> tuple[Guarded, str]:
        """The event and the text that follow an ordinary answer about someone else at risk."""
        reply = helper_footer(decision.screening.language, self._country(prepared, decision))
        return self._event(decision, reply), reply.text

    async def conclude(self, prepared: PreparedChat, decision: Decision) -> None:
        """Record the decision (never the message) and start the cool-down on a crisis."""
        logger.info("Guardrail decision", guardrail=decision_record(decision))
        _emit_metrics(decision)
        if decision.crisis:
            turn = prepared.turn
            conversation = turn.conversation_id or prepared.conversation_id
            if turn.endpoint == "completions":
                conversation = None  # the client keeps the history: the cool-down is the user's
            await self._cooldown.start(
                turn.identity, conversation, prepared.org.guardrails.cooldown_minutes
            )

    @staticmethod
    def _country(prepared: PreparedChat, decision: Decision) -> str:
        return country_for(
            prepared.turn.locale, prepared.org.guardrails.country, decision.screening.language
        )

    @staticmethod
    def _event(decision: Decision, reply: SafeReply) -> Guarded:
        verdict = decision.verdict
        return Guarded(
            kind="crisis",
            action=decision.action,
            category=verdict.category,
            confidence=round(verdict.confidence, 3),
            stage=verdict.stage,
            resources=tuple(line.as_json() for line in reply.resources),
            language=decision.screening.language,
        )


def decision_record(decision: Decision) -> dict[str, Any]:
    """What is kept of a decision, in logs and on the stored messages: never the text."""
    verdict = decision.verdict
    record: dict[str, Any] = {
        "action": decision.action,
        "category": verdict.category,
        "confidence": round(verdict.confidence, 3),
        "stage": verdict.stage,
        "latency_ms": decision.latency_ms,
        "language": decision.screening.language,
        "signals": list(decision.screening.signals),
    }
    if decision.model is not None:
        record["classifier_model"] = decision.model
    if decision.fail_safe is not None:
        record["fail_safe"] = decision.fail_safe
    return record


def _emit_metrics(decision: Decision) -> None:
    """EMF metrics of one decision: every decision by action and stage, the classifier
    model's latency when it answered, and each time it was asked and gave no verdict (the
    fail-safe's alarm)."""
    _metric(
        "GuardrailDecisions",
        MetricUnit.Count,
        1,
        action=decision.action,
        stage=decision.verdict.stage,
    )
    if decision.judgement is not None:
        _metric(
            "GuardrailClassifierLatencyMs", MetricUnit.Milliseconds, decision.judgement.latency_ms
        )
    if decision.fail_safe is not None and decision.fail_safe != "no_model":
        _metric("GuardrailFailSafe", MetricUnit.Count, 1, reason=decision.fail_safe)


def _metric(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    # One metric per EMF document: the process-wide ``metrics`` object is shared by
    # concurrent requests, and a decision must not mix into their dimensions. ``service`` is
    # always among the dimensions, which the GuardrailFailSafe alarm names exactly.
    emit_metric(name, unit, value, dimensions)
