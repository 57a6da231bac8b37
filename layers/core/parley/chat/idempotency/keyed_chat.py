"""An ``Idempotency-Key`` around one chat request (its protocol: ``parley.chat.idempotency.
store``).

The first request with a key claims it and runs; what its client received (the ``meta``, the
text and the ``done``) is stored when it ends, and a retry with the same key and body is given
exactly that again, streamed or as one completion, without a provider call or a charge. A
request that ends in an error, or whose client leaves, releases its key: the client has no
answer, so its retry runs afresh. A refusal before the stream (422, 402, 429) releases it too.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from parley.chat.events import Done, Failed, Guarded, Meta, Token, ToolCalled
from parley.chat.idempotency.store import request_fingerprint
from parley.chat.restream import pieces
from parley.providers.base import ToolCall

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pydantic import BaseModel

    from parley.auth.identity import Identity
    from parley.chat.events import ChatEvent
    from parley.chat.idempotency.store import Claim, IdempotencyStore
    from parley.chat.turn import Emit

__all__ = ["IdempotentChat", "StoredChat"]


@dataclasses.dataclass(frozen=True)
class StoredChat:
    """What a client received, enough to give it again."""

    meta: Meta
    text: str
    done: Done
    guardrail: Guarded | None = None  # what a guardrail did, given again before the text
    tool_calls: tuple[ToolCall, ...] = ()  # the calls the model made, after the text

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "meta": dataclasses.asdict(self.meta),
            "text": self.text,
            "done": dataclasses.asdict(self.done),
        }
        if self.guardrail is not None:
            record["guardrail"] = dataclasses.asdict(self.guardrail)
        if self.tool_calls:
            record["tool_calls"] = [dataclasses.asdict(call) for call in self.tool_calls]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StoredChat:
        done = Done(**{**record["done"], "replayed": True})
        kept = record.get("guardrail")
        guardrail = None
        if isinstance(kept, dict):
            guardrail = Guarded(**{**kept, "resources": tuple(kept.get("resources", ()))})
        meta = Meta(**record["meta"])
        calls = tuple(ToolCall(**call) for call in record.get("tool_calls") or ())
        return cls(
            meta=meta, text=str(record["text"]), done=done, guardrail=guardrail, tool_calls=calls
        )

    async def replay(self, emit: Emit) -> None:
        await emit(self.meta)
        if self.guardrail is not None:
            await emit(self.guardrail)
        for piece in pieces(self.text):
            await emit(Token(piece))
        for index, call in enumerate(self.tool_calls):
            await emit(ToolCalled(index, call))
        await emit(self.done)


class IdempotentChat:
    """One request's key: ``begin`` it, then ``guard`` the run (or ``release`` the key when
    the request is refused before running)."""

    def __init__(self, store: IdempotencyStore, claim: Claim | None) -> None:
        self._store = store
        self._claim = claim
        self.stored: StoredChat | None = None  # set on a replay

    @classmethod
    async def begin(
        cls,
        store: IdempotencyStore,
        identity: Identity,
        key: str | None,
        *,
        endpoint: str,
        body: BaseModel,
    ) -> IdempotentChat:
        """No key: a pass-through. IdempotencyInProgress (409) while the first request with
        the key runs; IdempotencyKeyReused (422) for the key with another body."""
        if key is None:
            return cls(store, None)
        begun = await store.begin(
            org_id=identity.org_id,
            user_id=identity.user_id,
            key=key,
            fingerprint=request_fingerprint(endpoint, body.model_dump(mode="json")),
        )
        begun.raise_if_in_progress()
        chat = cls(store, begun.claim)
        if begun.kind == "replay" and begun.result is not None:
            chat.stored = StoredChat.from_record(begun.result)
        return chat

    async def release(self) -> None:
        if self._claim is not None:
            await self._store.abandon(self._claim)

    def guard(self, run: Callable[[Emit], Awaitable[None]]) -> Callable[[Emit], Awaitable[None]]:
        """``run`` with what it emits kept, stored as the key's result when it ends in ``done``."""
        claim = self._claim
        if claim is None:
            return run

        async def guarded(emit: Emit) -> None:
            seen: list[ChatEvent] = []

            async def keep(event: ChatEvent) -> None:
                seen.append(event)
                await emit(event)

            try:
                await run(keep)
            except BaseException:
                await self._store.abandon(claim)
                raise
            stored = _stored(seen)
            if stored is None:
                await self._store.abandon(claim)
            else:
                await self._store.complete(claim, stored.to_record())

        return guarded


def _stored(events: list[ChatEvent]) -> StoredChat | None:
    """The chat a client received, when it ended in ``done``."""
    if not events or isinstance(events[-1], Failed) or not isinstance(events[-1], Done):
        return None
    meta = next((event for event in events if isinstance(event, Meta)), None)
    if meta is None:
        return None
    text = "".join(event.text for event in events if isinstance(event, Token))
    guardrail = next((event for event in events if isinstance(event, Guarded)), None)
    calls = tuple(event.call for event in events if isinstance(event, ToolCalled))
    return StoredChat(meta=meta, text=text, done=events[-1], guardrail=guardrail, tool_calls=calls)
