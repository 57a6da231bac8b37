"""An org's token balance (item ``pk=ORG#<org>``, ``sk=BALANCE``, ``tokens`` in
``AccountsTable``).

An org without this item is unmetered: nothing is held or charged for it. Granting tokens
creates the item and so meters the org. The balance never goes negative because every write
that lowers it is conditional on what it holds; the ledger's transactions are built from the
writes below, written with plain values (the ledger serialises them, loading boto3 on first
use rather than at import).
"""

from __future__ import annotations

from typing import Any

__all__ = ["balance_key", "give_back", "grant_request", "take", "take_exactly"]


def balance_key(org_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": "BALANCE"}


def grant_request(table: str, org_id: str, tokens: int) -> dict[str, Any]:
    """An UpdateItem adding tokens, creating the balance; it returns the new balance."""
    return {
        "TableName": table,
        "Key": balance_key(org_id),
        "UpdateExpression": "ADD tokens :tokens SET #type = :type, org_id = :org",
        "ExpressionAttributeNames": {"#type": "type"},
        "ExpressionAttributeValues": {":tokens": tokens, ":type": "balance", ":org": org_id},
        "ReturnValues": "UPDATED_NEW",
    }


def take(table: str, org_id: str, tokens: int) -> dict[str, Any]:
    """Lower the balance by ``tokens`` if it holds that many (fails on a missing balance)."""
    return {
        "Update": {
            "TableName": table,
            "Key": balance_key(org_id),
            "UpdateExpression": "SET tokens = tokens - :tokens",
            "ConditionExpression": "tokens >= :tokens",
            "ExpressionAttributeValues": {":tokens": tokens},
        }
    }


def take_exactly(table: str, org_id: str, held: int) -> dict[str, Any]:
    """Take everything the balance held when it was read, ending it at 0; fails if it changed
    since, so a concurrent writer's tokens are never taken by mistake."""
    return {
        "Update": {
            "TableName": table,
            "Key": balance_key(org_id),
            "UpdateExpression": "SET tokens = tokens - :held",
            "ConditionExpression": "tokens = :held",
            "ExpressionAttributeValues": {":held": held},
        }
    }


def give_back(table: str, org_id: str, tokens: int) -> dict[str, Any]:
    """Return unused tokens. Fails on a removed balance rather than recreate it, which would
    meter an org that was made unmetered."""
    return {
        "Update": {
            "TableName": table,
            "Key": balance_key(org_id),
            "UpdateExpression": "ADD tokens :tokens",
            "ConditionExpression": "attribute_exists(tokens)",
            "ExpressionAttributeValues": {":tokens": tokens},
        }
    }
