"""Keys of the FeedbackTable's items and index, in one place (docs/data-model.md).

    feedback     pk=ORG#<org>#DAY#<yyyy-mm-dd>  sk=<created_at>#<feedback id>
                 rated 5: gsi1pk=ORG#<org>#RATED  gsi1sk=<created_at>#<feedback id>
    correction   pk=ORG#<org>#CORRECTION        sk=<correction id>
                 gsi1pk=ORG#<org>#CORRECTIONS#<pending|approved>  gsi1sk=<created_at>#<id>

Feedback lives in one partition per org and UTC day, so analytics read a date range with one
Query per day and no day grows without bound; the sparse index holds only what the training
export needs.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "INDEX",
    "CorrectionStatus",
    "correction_pk",
    "corrections_key",
    "day_pk",
    "order_key",
    "rated_key",
]

INDEX = "gsi1"
CorrectionStatus = Literal["pending", "approved"]


def day_pk(org_id: str, day: str) -> str:
    return f"ORG#{org_id}#DAY#{day}"


def order_key(created_at: str, item_id: str) -> str:
    """Sorts by creation time; the id breaks ties within a millisecond."""
    return f"{created_at}#{item_id}"


def rated_key(org_id: str) -> str:
    return f"ORG#{org_id}#RATED"


def correction_pk(org_id: str) -> str:
    return f"ORG#{org_id}#CORRECTION"


def corrections_key(org_id: str, status: CorrectionStatus) -> str:
    return f"ORG#{org_id}#CORRECTIONS#{status}"
