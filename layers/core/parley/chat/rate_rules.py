"""The rate limits a chat request is counted against: its user's and its org's, per minute,
as the org's settings say (a limit of 0 is off)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.budget.ratelimit import RateLimit

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.orgs.settings import OrgSettings

__all__ = ["rate_rules"]

_MINUTE = 60.0


def rate_rules(identity: Identity, settings: OrgSettings) -> list[RateLimit]:
    limits = settings.rate_limits
    rules: list[RateLimit] = []
    if limits.user_per_minute:
        key = f"chat:user:{identity.org_id}:{identity.user_id}"
        rules.append(RateLimit("user", key, limits.user_per_minute, _MINUTE))
    if limits.org_per_minute:
        key = f"chat:org:{identity.org_id}"
        rules.append(RateLimit("org", key, limits.org_per_minute, _MINUTE))
    return rules
