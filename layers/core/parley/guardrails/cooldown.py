"""What a conversation remembers of a crisis verdict: until the org's cool-down ends, its next
turns go to the model with the safety system prompt.

Kept in the hot store with the cool-down as its TTL, per org, user and conversation (per user
for the OpenAI-compatible endpoint, which has no conversation of Parley's). Neither call
raises: a hot store that fails means no cool-down this turn (logged), never a failed chat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.telemetry import logger

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.hot.base import HotStore

__all__ = ["SafetyCooldown"]

_PREFIX = "guardrail:cooldown"


class SafetyCooldown:
    def __init__(self, hot: HotStore) -> None:
        self._hot = hot

    async def active(self, identity: Identity, conversation_id: str | None) -> bool:
        try:
            return await self._hot.get(_key(identity, conversation_id)) is not None
        except Exception as exc:  # noqa: BLE001 (any backend failure: no cool-down this turn)
            logger.warning("Safety cool-down not read", error=type(exc).__name__)
            return False

    async def start(self, identity: Identity, conversation_id: str | None, minutes: int) -> None:
        if minutes <= 0:
            return
        try:
            await self._hot.set(_key(identity, conversation_id), "1", ttl_seconds=minutes * 60)
        except Exception as exc:  # noqa: BLE001
            logger.warning("Safety cool-down not kept", error=type(exc).__name__)


def _key(identity: Identity, conversation_id: str | None) -> str:
    return f"{_PREFIX}:{identity.org_id}:{identity.user_id}:{conversation_id or '-'}"
