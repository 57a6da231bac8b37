"""Verifying bearer tokens: algorithms pinned, ``exp`` required, issuer and audience checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

from parley.auth.claims import identity_from_claims
from parley.errors import Unauthorized

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.auth.keys import KeySource

__all__ = ["TokenVerifier"]

# Checked in this order, so the message names the most specific failure.
_FAILURES: tuple[tuple[type[InvalidTokenError], str], ...] = (
    (ExpiredSignatureError, "The token has expired."),
    (ImmatureSignatureError, "The token is not valid yet."),
    (MissingRequiredClaimError, "The token lacks a required claim (`exp` and `sub` are required)."),
    (InvalidAudienceError, "The token is for another audience."),
    (InvalidIssuerError, "The token comes from another issuer."),
)


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: int = 30,
        org_claim: str = "org",
        default_org: str = "default",
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._org_claim = org_claim
        self._default_org = default_org

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self._keys.algorithms

    async def verify_async(self, token: str) -> Identity:
        """Verify without blocking the event loop: a cold key fetch runs in a worker thread."""
        header = self._header(token)
        if self._keys.is_ready(header):
            return self._verify(token, header)
        return await anyio.to_thread.run_sync(self._verify, token, header)

    def verify(self, token: str) -> Identity:
        return self._verify(token, self._header(token))

    def _header(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError as exc:
            raise Unauthorized("The bearer token is not a JWT.") from exc
        # Refuse before any key lookup: `none`, and HS256 forged with a published RS public key,
        # never reach a verification step.
        if header.get("alg") not in self._keys.algorithms:
            raise Unauthorized("The token is signed with an algorithm Parley does not accept.")
        return header

    def _verify(self, token: str, header: dict[str, Any]) -> Identity:
        key = self._keys.key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(self._keys.algorithms),
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except InvalidTokenError as exc:
            raise Unauthorized(_describe(exc)) from exc
        return identity_from_claims(
            claims, org_claim=self._org_claim, default_org=self._default_org
        )


def _describe(exc: InvalidTokenError) -> str:
    for kind, message in _FAILURES:
        if isinstance(exc, kind):
            return message
    return "The token's signature is not valid."
