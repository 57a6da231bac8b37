"""An identity provider's JWKS endpoint on loopback, with RSA keys to sign tokens."""

from __future__ import annotations

import json
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
    """Serves ``keys`` at /.well-known/jwks.json; counts fetches; can be made to fail."""

    def __init__(self, *keys: RsaKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False
        super().__init__(self._handler())

    @property
    def url(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    def start(self) -> JwksServer:
        self.start_serving()
        return self

    def stop(self) -> None:
        self.stop_serving()

    def _handler(self) -> type[QuietHandler]:
        jwks = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                if jwks.failing:
                    self.send_json(503, b'{"message": "unavailable"}')
                    return
                self.send_json(200, json.dumps({"keys": [key.jwk() for key in jwks.keys]}).encode())

        return Handler
