"""``Idempotency-Key``: a client's retry of the same request gets the stored result instead of
a second generation and a second charge.

Why not Powertools' Idempotency utility (``aws_lambda_powertools.utilities.idempotency``)? It
wraps a synchronous handler or function and stores its *return value*: ``_get_function_response``
calls the function, serialises what it returns and saves it as the record. Parley's chat result
is an async stream relayed to the client as it arrives; the thing to store exists only after the
last token, and the handler never returns it. Async functions are not supported (the maintainers
declined it, powertools-lambda-python#4483, because boto3 blocks), its persistence layers are
DynamoDB and redis-py rather than the Upstash REST store, and its key comes from the event
(JMESPath) rather than from a header scoped to the token's org and user. So this module builds
the same protocol (claim in progress, save result, delete on failure) on the HotStore.

Protocol, following draft-ietf-httpapi-idempotency-key-header (-06, "Error Scenarios"):

- ``begin`` claims the key atomically with ``set_if_absent`` of an in-progress record; exactly
  one of many concurrent requests wins (``new``), the others see ``in_progress``;
- the winner streams, then ``complete`` replaces the claim with the result the client got, for
  ``result_ttl_seconds``; later requests with the key get ``replay``;
- a failure before anything was charged calls ``abandon``, which deletes the claim so a retry
  runs again; a process that dies mid-stream leaves its claim to expire after
  ``in_progress_ttl_seconds`` (keep it at least the chat function's timeout, 300 s);
- the same key with a different request body is a client error, and a retry while the first
  request is still being processed is 409 (``parley.http.idempotency_key``).

Keys are scoped to (org, user, header value): two users' keys never collide, and one user can
never replay another's answer. The fingerprint is a SHA-256 of the endpoint and the request
body in canonical JSON, so a retry that re-serialises the same body still matches.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from parley.errors import ParleyError
from parley.http.idempotency_key import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    validate_idempotency_key,
)
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.hot.base import HotStore

__all__ = ["DEFAULT_MAX_RESULT_BYTES", "Begin", "Claim", "IdempotencyStore", "request_fingerprint"]

_RECORD_VERSION = 1
# A retry soon is right: most answers finish within seconds of the first request's start.
_RETRY_AFTER_SECONDS = 2.0
# The record can vanish between a failed claim and the read (it expired or was abandoned);
# then claiming again is correct, a few times at most.
_CLAIM_ATTEMPTS = 3
# DynamoDB items are limited to 400 KB; a record stays well under it with the key beside it.
DEFAULT_MAX_RESULT_BYTES = 256 * 1024


def request_fingerprint(endpoint: str, body: Any) -> str:
    """SHA-256 of the endpoint and the JSON-able request body, key order ignored."""
    canonical = json.dumps(
        {"endpoint": endpoint, "body": body},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """Proof that this request owns the key: hand it back to ``complete`` or ``abandon``."""

    store_key: str
    fingerprint: str
    token: str  # tells this claim from a later one on the same key, after this one expired


@dataclass(frozen=True, slots=True)
class Begin:
    """``new``: run the request, then complete or abandon ``claim``. ``replay``: answer with
    ``result``. ``in_progress``: another request holds the key (see ``raise_if_in_progress``)."""

    kind: Literal["new", "replay", "in_progress"]
    claim: Claim | None = None
    result: dict[str, Any] | None = None
    retry_after_seconds: float | None = None

    def raise_if_in_progress(self) -> None:
        if self.kind == "in_progress":
            raise IdempotencyInProgress(retry_after=self.retry_after_seconds or 1.0)


class IdempotencyStore:
    def __init__(
        self,
        store: HotStore,
        prefix: str = "idem",
        *,
        in_progress_ttl_seconds: float = 300,
        result_ttl_seconds: float = 86400,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._prefix = prefix
        self._in_progress_ttl = in_progress_ttl_seconds
        self._result_ttl = result_ttl_seconds
        self._max_result_bytes = max_result_bytes
        self._clock = clock

    async def begin(self, *, org_id: str, user_id: str, key: str, fingerprint: str) -> Begin:
        """Claim the key, or find the result or the claim already there.

        Raises IdempotencyKeyReused (422) when the key was used with another fingerprint, and
        ValidationFailed for a malformed key. A hot-store failure propagates (503): without the
        store, nothing guarantees that a retry is not charged twice; the caller decides."""
        validate_idempotency_key(key)
        store_key = self._store_key(org_id, user_id, key)
        for _ in range(_CLAIM_ATTEMPTS):
            claim = Claim(store_key=store_key, fingerprint=fingerprint, token=uuid.uuid4().hex)
            record = _encode({"state": "in_progress", "fp": fingerprint, "token": claim.token})
            if await self._store.set_if_absent(store_key, record, self._in_progress_ttl):
                return Begin(kind="new", claim=claim)
            raw = await self._store.get(store_key)
            if raw is None:
                continue  # gone since the claim failed: claim again
            existing = _decode(raw)
            if existing is None:
                # Unreadable (another version, or damaged): it cannot be honoured, so clear it.
                logger.warning("Idempotency record unreadable; replaced", key=store_key)
                await self._store.delete(store_key)
                continue
            if existing["fp"] != fingerprint:
                raise IdempotencyKeyReused()
            if existing["state"] == "done":
                return Begin(kind="replay", result=existing["result"])
            return Begin(kind="in_progress", retry_after_seconds=_RETRY_AFTER_SECONDS)
        # Claimed and released three times over by others: as good as in progress.
        return Begin(kind="in_progress", retry_after_seconds=_RETRY_AFTER_SECONDS)

    async def complete(self, claim: Claim, result: dict[str, Any]) -> None:
        """Store what the client got in place of the claim. Failures are logged, not raised:
        the client has its answer; the claim then expires and a later retry runs again. A
        result too big to store releases the claim at once: the key cannot protect it."""
        record = _encode(
            {
                "state": "done",
                "fp": claim.fingerprint,
                "result": result,
                "completed_at": self._clock(),
            }
        )
        size = len(record.encode())
        if size > self._max_result_bytes:
            logger.warning("Idempotent result too large to store", key=claim.store_key, bytes=size)
            await self.abandon(claim)
            return
        try:
            await self._store.set(claim.store_key, record, ttl_seconds=self._result_ttl)
        except ParleyError as exc:
            logger.error("Idempotent result not stored", error=exc.code, key=claim.store_key)

    async def abandon(self, claim: Claim) -> None:
        """Release the claim after a failure before anything was charged, so a retry runs.
        Only this request's own claim is deleted, never a later request's."""
        try:
            raw = await self._store.get(claim.store_key)
            existing = None if raw is None else _decode(raw)
            if existing is not None and existing.get("token") == claim.token:
                await self._store.delete(claim.store_key)
        except ParleyError as exc:
            # The claim expires by itself after in_progress_ttl_seconds.
            logger.warning("Idempotency claim not released", error=exc.code, key=claim.store_key)

    def _store_key(self, org_id: str, user_id: str, key: str) -> str:
        # Hashed: a fixed-length key whatever the ids hold, with no separator to confuse.
        scope = json.dumps([org_id, user_id, key], ensure_ascii=False, separators=(",", ":"))
        return f"{self._prefix}:{hashlib.sha256(scope.encode()).hexdigest()}"


def _encode(record: dict[str, Any]) -> str:
    return json.dumps({"v": _RECORD_VERSION, **record}, ensure_ascii=False, separators=(",", ":"))


def _decode(raw: str) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if (
        not isinstance(record, dict)
        or record.get("v") != _RECORD_VERSION
        or not isinstance(record.get("fp"), str)
    ):
        return None
    if record.get("state") == "done" and isinstance(record.get("result"), dict):
        return record
    if record.get("state") == "in_progress" and isinstance(record.get("token"), str):
        return record
    return None
