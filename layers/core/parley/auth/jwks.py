"""An identity provider's JWKS: fetching it, and what the last fetches said.

This module holds no policy. When a key set is too old to trust, and when a fetch may be
tried again, is decided by ``parley.auth.keys.JwksKeys``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jwt import PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWTError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["JwksEndpoint", "JwksFetchError", "KeySet"]


class JwksFetchError(Exception):
    """The JWKS could not be fetched, or what came back is not a JWKS with signing keys."""


class JwksEndpoint:
    """One JWKS URL. Each call to ``signing_keys`` is one HTTP request: nothing is cached here.

    PyJWT does the fetching (http(s) only, no redirects, the timeout) and the parsing (keys it
    cannot use are skipped). Its caches are off: its per-kid cache never expires, which kept a
    withdrawn key trusted for the life of the process, so the key set is kept by the caller.
    """

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self._client = PyJWKClient(
            url, cache_jwk_set=False, cache_keys=False, timeout=timeout_seconds
        )

    def signing_keys(self) -> dict[str, Any]:
        """{kid: public key} for every signing key the JWKS lists now.

        Raises JwksFetchError for any failure: connection, timeout, a non-2xx status, a body
        that is not JSON, not an object, or lists no usable signing key."""
        try:
            jwk_set = PyJWKSet.from_dict(self._client.fetch_data())
        # PyJWTError: PyJWKClientConnectionError (connection, timeout, non-2xx), PyJWKClientError
        # (not an object), PyJWKSetError (no usable keys). fetch_data lets a body that is not
        # JSON through as ValueError, and a connection dropped mid-body as OSError; TypeError is
        # a member PyJWT cannot read (an unhashable `alg`, say).
        except (PyJWTError, ValueError, TypeError, OSError) as exc:
            raise JwksFetchError(f"{type(exc).__name__}: {exc}") from exc
        keys: dict[str, Any] = {}
        for jwk in jwk_set.keys:
            kid = jwk.key_id
            # The filter of PyJWKClient.get_signing_keys: `use` is "sig" or absent, and a kid.
            if jwk.public_key_use in ("sig", None) and isinstance(kid, str) and kid:
                keys.setdefault(kid, jwk.key)  # the first of duplicates, as PyJWKClient does
        if not keys:
            raise JwksFetchError("The JWKS lists no signing keys.")
        return keys


@dataclass(frozen=True, slots=True)
class KeySet:
    """What the fetches so far said, as one immutable value.

    ``keys`` always come from one successful fetch, whole: a later successful fetch replaces
    them (a kid it no longer lists is forgotten), and a failed one leaves them as they were.
    Times are readings of the caller's clock, taken when the fetch returned."""

    keys: Mapping[str, Any] = field(default_factory=dict)
    fetched_at: float | None = None  # the last successful fetch, which listed ``keys``
    attempted_at: float | None = None  # the last fetch, successful or not
    failure: str | None = None  # why the last fetch failed; None if it succeeded

    def fetched(self, keys: Mapping[str, Any], at: float) -> KeySet:
        return KeySet(keys=dict(keys), fetched_at=at, attempted_at=at, failure=None)

    def failed(self, reason: str, at: float) -> KeySet:
        return KeySet(keys=self.keys, fetched_at=self.fetched_at, attempted_at=at, failure=reason)

    def is_fresh(self, now: float, cache_seconds: float) -> bool:
        """Whether ``keys`` may still be trusted: listed by a fetch less than cache_seconds ago."""
        return self.fetched_at is not None and now < self.fetched_at + cache_seconds

    def cooldown_left(self, now: float, cooldown_seconds: float) -> float:
        """Seconds until the last fetch is ``cooldown_seconds`` old; 0 if it is, or none was."""
        if self.attempted_at is None:
            return 0.0
        return max(0.0, self.attempted_at + cooldown_seconds - now)
