"""What the alerts API works with, installed by the app that serves it (parley.apps)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.operations.alerts.store import AlertStore

__all__ = ["Alerts", "AlertsCollaborators"]


@dataclass(frozen=True)
class AlertsCollaborators:
    store: AlertStore
    clock: Callable[[], float] = field(default=time.time)


Alerts = Annotated[AlertsCollaborators, collaborator(AlertsCollaborators)]
