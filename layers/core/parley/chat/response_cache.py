"""Exact-match response cache: the same deterministic question gets the stored answer.

A request is cacheable when its answer is deterministic (temperature 0) or the client marked it
cacheable. The key is a SHA-256 of everything that determines the answer (model, system prompt,
messages, max_tokens, temperature) plus the org: orgs never see each other's answers. The user
is deliberately not part of the key: within one org the same question gets the same answer
whoever asks, and sharing it is the point of the cache (prompts that carry per-user context
differ in their messages anyway, so they get different keys by themselves).

The cache lives in the shared hot store because Lambda environments share nothing in memory.
It must never fail a chat: a store error on read is a miss, on write it is skipped, and both
are logged. Only complete answers are stored (finish_reason ``stop`` or ``length``), never
errors or partial streams, and answers too big for one hot-store value are skipped: DynamoDB
items are limited to 400 KB, so values stay under ``max_value_bytes`` (256 KiB by default).

The per-org switch and TTL are the caller's (org settings); ``put`` takes the TTL per call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from parley.errors import ParleyError
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from parley.hot.base import HotStore

__all__ = [
    "CACHEABLE_FINISH_REASONS",
    "DEFAULT_CACHE_TTL_SECONDS",
    "DEFAULT_MAX_VALUE_BYTES",
    "CachedAnswer",
    "ResponseCache",
]

DEFAULT_CACHE_TTL_SECONDS = 7 * 24 * 3600
# Well under DynamoDB's 400 KB item limit, leaving room for the key and attribute names.
DEFAULT_MAX_VALUE_BYTES = 256 * 1024
# A "length" answer is complete for its max_tokens, which is part of the key.
CACHEABLE_FINISH_REASONS = frozenset({"stop", "length"})

# Bumped when the key's inputs or the value's shape change: old entries then simply miss.
_KEY_VERSION = 1
_VALUE_VERSION = 1


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """What a replay needs: the text to stream again and the fields of its ``done`` event."""

    text: str
    model: str
    provider: str
    finish_reason: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    created_at: float  # epoch seconds of the original answer

    def to_json(self) -> str:
        # ensure_ascii=False: non-Latin text would otherwise grow up to six bytes per character.
        return json.dumps(
            {"v": _VALUE_VERSION, **asdict(self)}, ensure_ascii=False, separators=(",", ":")
        )

    @classmethod
    def from_json(cls, raw: str) -> CachedAnswer | None:
        """The answer, or None for a value that is corrupt or from another version."""
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != _VALUE_VERSION:
            return None
        try:
            answer = cls(
                text=_typed(data["text"], str),
                model=_typed(data["model"], str),
                provider=_typed(data["provider"], str),
                finish_reason=_typed(data["finish_reason"], str),
                input_tokens=_typed(data["input_tokens"], int),
                output_tokens=_typed(data["output_tokens"], int),
                cost_usd=float(_typed(data["cost_usd"], (int, float))),
                created_at=float(_typed(data["created_at"], (int, float))),
            )
        except (KeyError, TypeError):
            return None
        return answer


class ResponseCache:
    def __init__(
        self,
        store: HotStore,
        prefix: str = "cache",
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self._store = store
        self._prefix = prefix
        self._max_value_bytes = max_value_bytes

    def key_for(
        self,
        *,
        org_id: str,
        model: str,
        system: str | None,
        messages: Sequence[tuple[str, str]],
        max_tokens: int,
        temperature: float | None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """The hot-store key of this request's answer.

        ``model`` is whatever names the answering model at lookup time: a concrete catalog name,
        or a virtual one (``auto``) when the lookup happens before routing. ``messages`` are
        ``(role, content)`` pairs, history included, in order. ``extra`` is whatever else
        decides the answer (the tools offered and how they may be chosen, the response
        schema, the messages' images and tool calls), JSON; a plain text request has none,
        and its key is what it always was."""
        inputs: dict[str, Any] = {
            "v": _KEY_VERSION,
            "org": org_id,
            "model": model,
            "system": system,
            "messages": [[role, content] for role, content in messages],
            "max_tokens": max_tokens,
            # 0 and 0.0 are the same temperature; JSON would spell them differently.
            "temperature": None if temperature is None else float(temperature),
        }
        if extra:
            inputs["extra"] = extra
        canonical = json.dumps(
            inputs,
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return f"{self._prefix}:{digest}"

    @staticmethod
    def is_cacheable(temperature: float | None, cacheable_flag: bool) -> bool:
        """Deterministic (temperature exactly 0) or marked cacheable by the client. An absent
        temperature means the provider's default, which is not 0."""
        return cacheable_flag or temperature == 0

    async def get(self, key: str) -> CachedAnswer | None:
        """The stored answer, or None on a miss, a corrupt value or a store failure."""
        try:
            raw = await self._store.get(key)
        except ParleyError as exc:
            logger.warning("Response cache read failed; treated as a miss", error=exc.code)
            return None
        if raw is None:
            return None
        answer = CachedAnswer.from_json(raw)
        if answer is None:
            logger.warning("Response cache value unreadable; treated as a miss", key=key)
        return answer

    async def put(self, key: str, answer: CachedAnswer, ttl_seconds: float) -> None:
        """Store a complete answer for ``ttl_seconds``; anything else is skipped, and a store
        failure is logged, never raised (the client has its answer already)."""
        if answer.finish_reason not in CACHEABLE_FINISH_REASONS:
            return
        value = answer.to_json()
        size = len(value.encode())
        if size > self._max_value_bytes:
            logger.info("Response too large to cache", key=key, bytes=size)
            return
        try:
            await self._store.set(key, value, ttl_seconds=ttl_seconds)
        except ParleyError as exc:
            logger.warning("Response cache write failed", error=exc.code, key=key)


def _typed(value: Any, kind: type | tuple[type, ...]) -> Any:
    # bool is an int to isinstance; a stored true is never a token count.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"expected {kind}, got {type(value).__name__}")
    return value
