"""HTTP plumbing shared by every function: app factory, auth dependencies, error handling."""

from parley.http.app import create_app
from parley.http.auth import CurrentIdentity, current_identity, require_scopes

__all__ = ["CurrentIdentity", "create_app", "current_identity", "require_scopes"]
