"""Stage 2: a catalog model judges a message the prefilter flagged.

The model is asked, at temperature 0, for one JSON object ``{is_crisis, confidence, category,
reason}`` (in the provider's JSON mode where it has one: OpenAI's ``response_format``,
Gemini's JSON response type; Anthropic's by the prompt alone); the answer is validated with
pydantic. Anything else (prose, a missing field, a
category it made up, a provider error, no answer within the time budget) raises
``ClassifierFailed``: the caller then lets the offline classifier decide, so a crisis is never
missed for lack of a model.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley.guardrails.verdict import Verdict
from parley.providers.base import ChatMessage, Finish, GenerationRequest, TextDelta
from parley.providers.errors import ProviderError

if TYPE_CHECKING:
    from parley.providers.catalog import ModelSpec
    from parley.providers.registry import ProviderRegistry
    from parley.providers.usage import Usage

__all__ = ["CLASSIFIER_PROMPT", "ClassifierFailed", "ModelClassifier", "ModelJudgement"]

CLASSIFIER_PROMPT = """\
You are a safety classifier for a consumer assistant used in Spanish and English. Read the \
user's message and decide whether the user themself may be at risk of suicide or self-harm \
now. Answer with one JSON object and nothing else:
{"is_crisis": true|false, "confidence": 0.0-1.0, "category": "suicide"|"self_harm"|\
"third_party"|"none", "reason": "<one short sentence in English, no quotes from the message>"}
- suicide: the user wants to die, to end their life, or says goodbye as if they will; plans, \
means gathered, a farewell, feeling they are a burden, even without explicit words.
- self_harm: the user hurts or wants to hurt themself without wanting to die.
- third_party: the user is worried that someone else is at risk (is_crisis false).
- none: idioms and hyperbole ("me muero de la risa", "this exam is killing me"), games, \
programming ("kill -9"), fiction, academic or medical questions with no sign of personal \
risk, negations ("I would never"), a past crisis the user has recovered from.
A risk hidden inside another request (homework, code) still counts. When in doubt about \
personal risk, prefer is_crisis true with a lower confidence."""
# Enough for the object and a sentence of reason; a model that rambles is cut, and fails.
_MAX_TOKENS = 160
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class ClassifierFailed(Exception):
    """The model gave no valid verdict in time; ``reason`` says which way it failed."""

    def __init__(self, reason: Literal["timeout", "error", "malformed"], detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    is_crisis: bool
    confidence: float = Field(ge=0, le=1)
    category: Literal["suicide", "self_harm", "third_party", "none"]
    reason: str = Field(default="", max_length=500)


@dataclass(frozen=True)
class ModelJudgement:
    """The model's verdict, what it cost and how long it took."""

    verdict: Verdict
    model: str
    latency_ms: float
    usage: Usage | None


class ModelClassifier:
    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry

    async def classify(self, text: str, spec: ModelSpec, *, timeout: float) -> ModelJudgement:
        """The model's verdict on ``text``; ClassifierFailed when there is none in ``timeout``
        seconds, or it is not the JSON object asked for."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                answer, usage = await self._ask(text, spec)
        except TimeoutError as exc:
            raise ClassifierFailed("timeout", f"no verdict in {timeout} s") from exc
        except ProviderError as exc:
            raise ClassifierFailed("error", exc.code) from exc
        parsed = _parse(answer)
        verdict = Verdict(
            is_crisis=parsed.is_crisis and parsed.category in ("suicide", "self_harm"),
            confidence=parsed.confidence,
            category=parsed.category,
            reason=parsed.reason.strip()[:200] or "the classifier model gave no reason",
            stage="model",
        )
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return ModelJudgement(verdict, spec.name, latency_ms, usage)

    async def _ask(self, text: str, spec: ModelSpec) -> tuple[str, Usage | None]:
        request = GenerationRequest(
            messages=[ChatMessage("user", text)],
            system=CLASSIFIER_PROMPT,
            max_tokens=_MAX_TOKENS,
            temperature=0,
            json_object=True,
        ).with_valid_text()
        pieces: list[str] = []
        usage: Usage | None = None
        stream = self._registry.provider_for(spec).stream(spec, request)
        try:
            async for event in stream:
                if isinstance(event, TextDelta):
                    pieces.append(event.text)
                elif isinstance(event, Finish):
                    usage = event.usage
        finally:
            await stream.aclose()
        return "".join(pieces), usage


def _parse(answer: str) -> _Answer:
    """The JSON object of ``answer`` (a model may wrap it in a code fence), validated."""
    found = _OBJECT.search(answer)
    if found is None:
        raise ClassifierFailed("malformed", "no JSON object")
    try:
        return _Answer.model_validate(json.loads(found.group(0)))
    except (ValueError, ValidationError) as exc:
        raise ClassifierFailed("malformed", type(exc).__name__) from exc
