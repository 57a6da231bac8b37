"""The alert store's interface: per scope (an org, or the deployment), each rule and subject's
state (firing or not, when it was last published), and the history of what was published.

A scope's states are few (rules times subjects); its history is kept ``HISTORY_DAYS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["HISTORY_DAYS", "AlertRecord", "AlertState", "AlertStore", "Status"]

HISTORY_DAYS = 90
Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class AlertState:
    """One rule and subject of a scope: firing since ``since`` (None: not firing), last
    published at ``notified_at`` (epoch seconds)."""

    rule: str
    subject: str
    since: float | None = None
    notified_at: float | None = None

    @property
    def firing(self) -> bool:
        return self.since is not None


@dataclass(frozen=True)
class AlertRecord:
    """One message published: the rule's figures when it was, as the topic got them."""

    at: float
    status: Status
    rule: str
    subject: str
    message: dict[str, Any] = field(default_factory=dict)


class AlertStore(ABC):
    @abstractmethod
    def states(self, scope: str) -> dict[tuple[str, str], AlertState]:
        """Every state kept for ``scope``, by (rule, subject)."""

    @abstractmethod
    def put_state(self, scope: str, state: AlertState) -> None:
        """Replace the state of its rule and subject."""

    @abstractmethod
    def record(self, scope: str, record: AlertRecord) -> None:
        """Append a published message to the scope's history."""

    @abstractmethod
    def history(self, scope: str, *, since: float, limit: int = 100) -> list[AlertRecord]:
        """The scope's messages published at ``since`` or later, newest first."""
