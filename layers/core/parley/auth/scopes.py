"""The scopes a token may carry, and what each lets its holder do. One name each, so a route
and its documentation never disagree about which scope it needs."""

from __future__ import annotations

__all__ = ["ANALYTICS_VIEW", "OPS_MANAGE", "OPS_VIEW", "ORG_MANAGE", "USERS_MANAGE"]

# Read the org's analytics, feedback and corrections.
ANALYTICS_VIEW = "analytics:view"
# Review corrections, export training data, set a user's tier.
USERS_MANAGE = "users:manage"
# Change the org's settings.
ORG_MANAGE = "org:manage"
# The deployment's operators: read the providers' health and the audit of resets.
OPS_VIEW = "ops:view"
# Reset a model's health: close its circuit breaker and restart its health window (audited).
OPS_MANAGE = "ops:manage"
