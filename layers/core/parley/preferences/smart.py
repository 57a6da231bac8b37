"""Smart defaults for a chat: the caller's preferences that apply to the request, for the
stream's ``meta`` (a client pre-fills its form and can say "you usually prefer …").

The chat pipeline starts ``read`` alongside its other reads, so it adds no latency, and turns
the result into the ``smart_defaults`` payload once the org's settings (which give its panels)
are known. Preferences are a convenience: a failed read is logged and gives no values; it never
fails the chat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread

from parley.panels import PanelRegistry
from parley.preferences.detection import detect_panel
from parley.preferences.effective import smart_defaults
from parley.telemetry import logger

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.orgs.settings import OrgSettings
    from parley.preferences.repository import PreferencesRepository, StoredPreferences

__all__ = ["EMPTY_SMART_DEFAULTS", "SmartDefaults"]

EMPTY_SMART_DEFAULTS: dict[str, Any] = {"panel": None, "detected_from": None, "values": {}}


class SmartDefaults:
    def __init__(self, repository: PreferencesRepository) -> None:
        self._repository = repository

    async def read(self, identity: Identity) -> StoredPreferences | None:
        """The caller's stored preferences; None (with a warning) when the read fails."""
        try:
            return await anyio.to_thread.run_sync(
                self._repository.get, identity.org_id, identity.user_id
            )
        except Exception as exc:  # noqa: BLE001 - any failure: chat on without smart defaults
            logger.warning(
                "Chatting without smart defaults: the preferences read failed",
                error=type(exc).__name__,
                error_code=getattr(exc, "code", None),
            )
            return None

    @staticmethod
    def payload(
        stored: StoredPreferences | None,
        *,
        message: str,
        requested_panel: str | None,
        org: OrgSettings,
    ) -> dict[str, Any]:
        """``{"panel", "detected_from", "values": {field: {value, source, confidence?,
        messages?}}}``, ``confidence`` and ``messages`` (null if not recorded) for a learned
        value."""
        try:
            registry = PanelRegistry.for_org(org)
            detection = detect_panel(message, requested_panel, registry)
            values = smart_defaults(stored, registry, detection.panel)
        except Exception as exc:  # noqa: BLE001 - a hand-edited document must not fail chat
            logger.warning("Chatting without smart defaults", error=type(exc).__name__)
            return dict(EMPTY_SMART_DEFAULTS)
        return {
            "panel": detection.panel,
            "detected_from": detection.detected_from,
            "values": values,
        }
