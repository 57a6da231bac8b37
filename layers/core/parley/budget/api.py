"""The caller's view of its org's budget (any member): ``GET /v1/org/budget``. The org and the
user are always the token's."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Any

from fastapi import APIRouter

from parley.budget.collaborators import Budget
from parley.http.auth import CurrentIdentity

__all__ = ["router"]

router = APIRouter(tags=["org"])


@router.get("/v1/org/budget")
async def read_org_budget(budget: Budget, identity: CurrentIdentity) -> dict[str, Any]:
    """What the caller may spend: the org's token balance (`null` when the org is unmetered),
    the caller's own spend today (UTC) against the daily cap (`null` when the org has neither
    a balance nor a cap: then nothing is counted against anything, and spend is in the usage
    records), and the rate limits."""
    ledger = budget.ledger
    org = await budget.org_settings.get(identity.org_id)
    balance = await ledger.balance(identity.org_id)
    tracked = balance is not None or org.daily_spend_cap_usd is not None
    spent = await ledger.spent_today(identity.org_id, identity.user_id) if tracked else None
    return {
        "org_id": identity.org_id,
        "metered": balance is not None,
        "balance_tokens": balance,
        "low_balance_tokens": org.low_balance_tokens,
        "daily_spend_cap_usd": org.daily_spend_cap_usd,
        "spent_today_usd": spent,
        "rate_limits": org.rate_limits.model_dump(mode="json"),
    }
