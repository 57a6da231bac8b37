"""The regression alerts' evaluation, after each aggregation: each org's rules on its own
rollups with its own thresholds, and the deployment's on every org's traffic with the
defaults; each finding held against the stored state of its rule and subject.

    breached, not firing      → publish "firing", firing since now
    breached, firing          → publish again only once the org's throttle has passed
    not breached, firing      → publish "resolved" once; not firing
    no finding (too few data) → nothing changes

A message that cannot be published leaves the state as it was, so the next evaluation tries
again; every published message is kept in the scope's history (``GET /v1/alerts``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from parley.operations.alerts.delivery import DEPLOYMENT, alert_message, subject_line
from parley.operations.alerts.rules import evaluate_rules, report
from parley.operations.alerts.store import AlertRecord, AlertState
from parley.operations.alerts.windows import read_windows
from parley.orgs.settings import AlertSettings
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parley.analytics.store import RollupStore
    from parley.operations.alerts.delivery import Publisher
    from parley.operations.alerts.rules import Finding
    from parley.operations.alerts.store import AlertStore, Status

__all__ = ["AlertEvaluator", "EvaluationResult"]

_HOUR = 3600.0


@dataclass
class EvaluationResult:
    scopes: int = 0
    findings: int = 0
    firing: int = 0
    published: int = 0
    resolved: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class AlertEvaluator:
    def __init__(
        self,
        rollups: RollupStore,
        store: AlertStore,
        publisher: Publisher | None,
        *,
        org_settings: Callable[[str], AlertSettings],
        dashboard_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rollups = rollups
        self._store = store
        self._publisher = publisher  # None: kept in the history only (no topic configured)
        self._org_settings = org_settings
        self._dashboard = dashboard_url
        self._clock = clock

    def run(self, org_ids: Sequence[str], *, deployment: bool = True) -> EvaluationResult:
        """Each of ``org_ids``, then (``deployment``) the deployment over all of them."""
        result = EvaluationResult()
        for org_id in sorted(set(org_ids)):
            settings = self._org_settings(org_id)
            if settings.enabled:
                self._scope(org_id, [org_id], settings, result)
        if deployment and org_ids:
            self._scope(DEPLOYMENT, sorted(set(org_ids)), AlertSettings(), result)
        return result

    def _scope(
        self, scope: str, org_ids: list[str], settings: AlertSettings, result: EvaluationResult
    ) -> None:
        now = self._clock()
        windows = read_windows(self._rollups, org_ids, now=now)
        findings = evaluate_rules(windows, settings)
        states = self._store.states(scope)
        result.scopes += 1
        result.findings += len(findings)
        for finding in findings:
            state = states.get((finding.rule, finding.subject))
            state = state or AlertState(finding.rule, finding.subject)
            self._judge(scope, finding, state, settings=settings, now=now, result=result)
        logger.info("Alerts evaluated", scope=scope, findings=len(findings), **report(windows))

    def _judge(
        self,
        scope: str,
        finding: Finding,
        state: AlertState,
        *,
        settings: AlertSettings,
        now: float,
        result: EvaluationResult,
    ) -> None:
        if finding.breached:
            result.firing += 1
            quiet = settings.throttle_hours * _HOUR
            if state.firing and state.notified_at is not None and now - state.notified_at < quiet:
                return  # throttled: this rule and subject were published not long ago
            since = state.since if state.firing else now
            if self._publish(scope, finding, "firing", now):
                self._store.put_state(scope, replace(state, since=since, notified_at=now))
                result.published += 1
            else:
                result.failed += 1
        elif state.firing:
            if self._publish(scope, finding, "resolved", now):
                self._store.put_state(scope, replace(state, since=None, notified_at=now))
                result.resolved += 1
            else:
                result.failed += 1

    def _publish(self, scope: str, finding: Finding, status: Status, now: float) -> bool:
        message: dict[str, Any] = alert_message(
            scope, finding, status, at=now, dashboard_url=self._dashboard
        )
        subject = subject_line(message)
        if self._publisher is not None:
            try:
                self._publisher.publish(subject, message)
            except Exception as exc:  # noqa: BLE001 (any delivery failure: retried next run)
                logger.error("Alert not published", rule=finding.rule, error=type(exc).__name__)
                return False
        self._store.record(scope, AlertRecord(now, status, finding.rule, finding.subject, message))
        logger.warning("Alert", alert=message, subject=subject)
        return True
