"""What an operator does to an org's tokens from the command line (``parley org grant|
balance``): grant them (the first grant meters the org) and read the balance. Each returns the
JSON the CLI prints.

These act on any org, as the operator names it: they run with the deployment's AWS
credentials, not a user's token, and are never reachable over HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.bounds import MAX_SAFE_INTEGER
from parley.budget.ledger import Ledger
from parley.errors import BadRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

__all__ = ["grant_tokens", "org_balance"]


def grant_tokens(
    settings: Settings, org_id: str, tokens: int, *, client: DynamoDBClient | None = None
) -> dict[str, Any]:
    """Add tokens to the org's balance. The first grant creates the balance, which meters the
    org: from then on every request is paid from it."""
    if not 0 < tokens <= MAX_SAFE_INTEGER:
        raise BadRequest(
            f"--tokens must be a positive number of tokens, at most {MAX_SAFE_INTEGER}."
        )
    balance = Ledger(settings.accounts_table, client).grant(org_id, tokens)
    return {"org_id": org_id, "metered": True, "balance_tokens": balance}


def org_balance(
    settings: Settings, org_id: str, *, client: DynamoDBClient | None = None
) -> dict[str, Any]:
    balance = Ledger(settings.accounts_table, client).balance(org_id)
    return {"org_id": org_id, "metered": balance is not None, "balance_tokens": balance}
