"""What the budget API works with, installed by the app that serves it (parley.apps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from parley.budget.ledger import AsyncLedger
    from parley.orgs.cache import OrgSettingsCache

__all__ = ["Budget", "BudgetCollaborators"]


@dataclass(frozen=True)
class BudgetCollaborators:
    ledger: AsyncLedger
    # The org's cap and rate limits: the same cache the chat reads them from.
    org_settings: OrgSettingsCache


Budget = Annotated[BudgetCollaborators, collaborator(BudgetCollaborators)]
