"""Alerts in memory: for tests and one process (``parley dev``)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from parley.operations.alerts.store.base import HISTORY_DAYS, AlertRecord, AlertState, AlertStore

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MemoryAlertStore"]


class MemoryAlertStore(AlertStore):
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._states: dict[str, dict[tuple[str, str], AlertState]] = {}
        self._history: dict[str, list[AlertRecord]] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def states(self, scope: str) -> dict[tuple[str, str], AlertState]:
        with self._lock:
            return dict(self._states.get(scope, {}))

    def put_state(self, scope: str, state: AlertState) -> None:
        with self._lock:
            self._states.setdefault(scope, {})[(state.rule, state.subject)] = state

    def record(self, scope: str, record: AlertRecord) -> None:
        with self._lock:
            self._history.setdefault(scope, []).append(record)

    def history(self, scope: str, *, since: float, limit: int = 100) -> list[AlertRecord]:
        kept_from = self._clock() - HISTORY_DAYS * 86_400
        with self._lock:
            found = [
                record
                for record in self._history.get(scope, [])
                if record.at >= max(since, kept_from)
            ]
        found.sort(key=lambda record: record.at, reverse=True)
        return found[:limit]
