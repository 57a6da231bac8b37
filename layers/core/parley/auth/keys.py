"""Where verification keys come from: a shared secret, or an identity provider's JWKS."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from parley.auth.jwks import JwksEndpoint, JwksFetchError, KeySet
from parley.errors import ServiceUnavailable, Unauthorized

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["JwksKeys", "KeySource", "SharedSecret"]

_UNKNOWN_KEY = "The token was signed with an unknown key."
_UNREACHABLE = "Could not fetch signing keys from the identity provider."


class KeySource(Protocol):
    algorithms: tuple[str, ...]

    def is_ready(self, header: dict[str, Any]) -> bool:
        """True when ``key_for`` will answer without network I/O."""

    def key_for(self, header: dict[str, Any]) -> Any:
        """The key that must have signed a token with this header."""


class SharedSecret:
    """HS256 with one secret: development, or providers that sign with a shared secret."""

    algorithms: tuple[str, ...] = ("HS256",)

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def is_ready(self, header: dict[str, Any]) -> bool:
        return True

    def key_for(self, header: dict[str, Any]) -> Any:
        return self._secret


class JwksKeys:
    """Public keys from a JWKS URL (Cognito, Auth0, Supabase...), fetched with a short timeout
    and kept so that a warm process verifies without network calls.

    Trust. A key is trusted for at most ``cache_seconds`` after the last fetch that listed it.
    Each successful fetch replaces the key set whole, so a key the provider withdrew (a leaked
    key rotated out) is forgotten at the next fetch, whatever made it happen: the set expiring,
    or a token naming a kid the set lacks (the provider may have rotated keys in).

    Cooldown. After any fetch, successful or failed, no fetch is made for
    ``refresh_cooldown_seconds``. Meanwhile a kid the fresh set lacks is a 401, and a request
    needing keys when no fresh set exists (the provider was unreachable) is a 503 with the
    cooldown left as Retry-After, at once. So neither tokens with invented kids nor an outage of
    the provider can turn every request into a call to it, each waiting out the timeout. (When
    ``cache_seconds`` is shorter than the cooldown, a set that expired after a successful fetch
    is refetched without waiting: that happens at most once per ``cache_seconds``.)

    No queue. One fetch runs at a time. A request whose kid is unknown to a fresh set does not
    wait for a fetch in progress: it is a 401 at once. Only a process without a fresh set (a
    cold start) waits for it, at most the fetch timeout, having nothing else to verify with.
    Otherwise a hanging provider would hold every token with a made-up kid, and the worker
    thread ``TokenVerifier.verify_async`` runs it in, for the whole timeout: the worker-thread
    pool is the queue an attacker would fill. For the same reason ``is_ready`` is true whenever
    ``key_for`` can answer without network I/O, refusals included.

    ``key_for`` runs in worker threads concurrently: the key set is one immutable ``KeySet``,
    replaced by a single assignment under the fetch lock and read once per call.
    """

    def __init__(
        self,
        url: str,
        *,
        algorithms: tuple[str, ...],
        timeout_seconds: float,
        cache_seconds: int,
        refresh_cooldown_seconds: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.algorithms = algorithms
        self._endpoint = JwksEndpoint(url, timeout_seconds=timeout_seconds)
        self._timeout = timeout_seconds
        self._cache_seconds = cache_seconds
        self._cooldown = refresh_cooldown_seconds
        self._clock = clock
        self._key_set = KeySet()
        self._fetching = threading.Lock()

    def is_ready(self, header: dict[str, Any]) -> bool:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            return True  # key_for refuses it at once
        # A snapshot: should the key set change before key_for runs (a fetch finishing in
        # another thread, the set expiring in between), key_for may fetch on the caller's
        # thread, once, within the cooldown's bounds.
        key_set, now = self._key_set, self._clock()
        if not self._needs_fetch(kid, key_set, now):
            return True
        return self._fetching.locked() and key_set.is_fresh(now, self._cache_seconds)

    def key_for(self, header: dict[str, Any]) -> Any:
        kid = _kid(header)
        key_set, now = self._key_set, self._clock()
        if not self._needs_fetch(kid, key_set, now):
            return self._answer(kid, key_set, now)
        if not self._fetching.acquire(blocking=False):
            # A fetch is in progress. With a fresh set, it cannot be waited for (the no-queue
            # rule above); without one, wait for it, bounded by the timeout it runs with.
            if key_set.is_fresh(now, self._cache_seconds):
                raise Unauthorized(_UNKNOWN_KEY)
            if not self._fetching.acquire(timeout=self._timeout):
                raise ServiceUnavailable(_UNREACHABLE, retry_after=self._timeout)
        try:
            return self._fetch_for(kid)
        finally:
            self._fetching.release()

    def _fetch_for(self, kid: str) -> Any:
        """Holding the fetch lock: the key for ``kid``, fetching unless a fetch that finished
        while this thread waited for the lock has settled it."""
        key_set, now = self._key_set, self._clock()
        if not self._needs_fetch(kid, key_set, now):
            return self._answer(kid, key_set, now)
        try:
            keys = self._endpoint.signing_keys()
        except JwksFetchError as exc:
            self._key_set = key_set.failed(str(exc), self._clock())
            raise ServiceUnavailable(_UNREACHABLE, retry_after=self._cooldown) from exc
        self._key_set = key_set.fetched(keys, self._clock())
        if kid not in keys:
            raise Unauthorized(_UNKNOWN_KEY)
        return keys[kid]

    def _needs_fetch(self, kid: str, key_set: KeySet, now: float) -> bool:
        """Whether only a fetch can answer for ``kid``; if not, ``_answer`` does, without I/O."""
        fresh = key_set.is_fresh(now, self._cache_seconds)
        if fresh and kid in key_set.keys:
            return False
        if key_set.cooldown_left(now, self._cooldown) == 0:
            return True
        # Within the cooldown, only a set that expired after a successful fetch is refetched
        # (cache_seconds shorter than the cooldown): unknown kids and failures wait it out.
        return not fresh and key_set.failure is None

    def _answer(self, kid: str, key_set: KeySet, now: float) -> Any:
        """The key for ``kid`` from the key set, or the refusal, when no fetch is needed."""
        if key_set.is_fresh(now, self._cache_seconds):
            if kid in key_set.keys:
                return key_set.keys[kid]
            raise Unauthorized(_UNKNOWN_KEY)
        # No fresh set, and the last fetch failed within the cooldown.
        raise ServiceUnavailable(
            _UNREACHABLE, retry_after=key_set.cooldown_left(now, self._cooldown)
        )


def _kid(header: dict[str, Any]) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("The token names no signing key (`kid`).")
    return kid
