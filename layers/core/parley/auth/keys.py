"""Where verification keys come from: a shared secret, or an identity provider's JWKS."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError

from parley.errors import ServiceUnavailable, Unauthorized

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["JwksKeys", "KeySource", "SharedSecret"]


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
    and kept for ``cache_seconds`` so that a warm process verifies without network calls."""

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
        # The cooldown bounds refetches caused by unknown kids, so tokens with made-up kids
        # cannot turn every request into a call to the identity provider.
        self._client = PyJWKClient(
            url,
            cache_keys=True,
            lifespan=cache_seconds,
            timeout=timeout_seconds,
            cooldown_duration=refresh_cooldown_seconds,
        )
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._keys: dict[str, tuple[float, Any]] = {}

    def is_ready(self, header: dict[str, Any]) -> bool:
        cached = self._keys.get(_kid(header))
        return cached is not None and cached[0] > self._clock()

    def key_for(self, header: dict[str, Any]) -> Any:
        kid = _kid(header)
        cached = self._keys.get(kid)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        try:
            # An unknown kid refetches the key set (after the cooldown): key rotation.
            key = self._client.get_signing_key(kid).key
        except PyJWKClientConnectionError as exc:
            raise ServiceUnavailable(
                "Could not fetch signing keys from the identity provider."
            ) from exc
        except PyJWKClientError as exc:
            raise Unauthorized("The token was signed with an unknown key.") from exc
        self._keys[kid] = (self._clock() + self._cache_seconds, key)
        return key


def _kid(header: dict[str, Any]) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("The token names no signing key (`kid`).")
    return kid
