"""``GET /v1/alerts``: the caller's org's alerts, what fires now and what was published."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from parley.http.auth import Analyst
from parley.operations.alerts.collaborators import Alerts
from parley.operations.alerts.store import HISTORY_DAYS

__all__ = ["router"]

router = APIRouter(tags=["alerts"])


@router.get("/v1/alerts")
async def list_alerts(
    alerts: Alerts,
    identity: Analyst,
    days: Annotated[int, Query(ge=1, le=HISTORY_DAYS)] = 7,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """What fires now (each rule and subject, since when) and the messages published to the
    alerts topic in the last ``days``, newest first."""
    store = alerts.store
    since = alerts.clock() - days * 86_400
    states = store.states(identity.org_id)
    history = store.history(identity.org_id, since=since, limit=limit)
    return {
        "org_id": identity.org_id,
        "days": days,
        "firing": [
            {
                "rule": state.rule,
                "subject": state.subject,
                "since": _iso(state.since),
                "notified_at": _iso(state.notified_at),
            }
            for state in sorted(states.values(), key=lambda s: (s.rule, s.subject))
            if state.firing
        ],
        "history": [
            {**record.message, "status": record.status, "at": _iso(record.at)} for record in history
        ],
    }


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")
