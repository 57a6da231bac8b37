"""Bearer-token authentication: verification, identity and development tokens."""

from parley.auth.factory import build_verifier, resolve_jwt_secret
from parley.auth.identity import Identity
from parley.auth.tokens import mint_token
from parley.auth.verifier import TokenVerifier

__all__ = ["Identity", "TokenVerifier", "build_verifier", "mint_token", "resolve_jwt_secret"]
