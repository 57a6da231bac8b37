"""An identity provider's JWKS endpoint on loopback, with RSA keys to sign tokens."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.servers import LoopbackHTTPServer, QuietHandler

ISSUER = "https://idp.example.test/"
AUDIENCE = "parley-api"


class RsaKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": kid or self.kid})


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "user-1", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


class JwksServer(LoopbackHTTPServer):
    """Serves ``keys`` at /.well-known/jwks.json; counts fetches; can be made to fail (answer
    ``failure_status``) or to hang (accept the request and not answer until released).

    Assign ``keys`` to switch the key set the provider publishes, or ``body`` to serve those
    bytes instead (a body that is not a JWKS)."""

    def __init__(self, *keys: RsaKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False
        self.failure_status = 503
        self.body: bytes | None = None
        self._answer = threading.Event()
        self._answer.set()
        self._counting = threading.Lock()
        super().__init__(self._handler())

    @property
    def url(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    def start(self) -> JwksServer:
        self.start_serving()
        return self

    def stop(self) -> None:
        self.release()
        self.stop_serving()

    def hang(self) -> None:
        """Requests from now on are counted, then held unanswered until ``release``."""
        self._answer.clear()

    def release(self) -> None:
        self._answer.set()

    def _handler(self) -> type[QuietHandler]:
        jwks = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with jwks._counting:
                    jwks.fetches += 1
                # Bounded, so that a test that forgets to release cannot hang the run.
                jwks._answer.wait(timeout=30)
                if jwks.failing:
                    status, body = jwks.failure_status, b'{"message": "unavailable"}'
                elif jwks.body is not None:
                    status, body = 200, jwks.body
                else:
                    status = 200
                    body = json.dumps({"keys": [key.jwk() for key in jwks.keys]}).encode()
                # A held request's client may have given up waiting and closed the connection.
                with contextlib.suppress(OSError):
                    self.send_json(status, body)

        return Handler
