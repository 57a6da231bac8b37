"""A user's effective preferences: per field, the first of what the user set, what was learned,
the org's default and the product's default.

Values a panel no longer accepts (an org narrowed a field, removed a panel) are skipped at every
level, so what a client sees always validates against the panels it is told about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from parley.panels import DEFAULT_TIER
from parley.preferences.stored import explicit_value

if TYPE_CHECKING:
    from parley.panels import PanelRegistry
    from parley.preferences.stored import StoredPreferences

__all__ = ["Resolved", "Source", "preferences_document", "resolve_panel", "smart_defaults"]

Source = Literal["user", "learned", "org", "default"]


@dataclass(frozen=True)
class Resolved:
    value: Any
    source: Source
    confidence: float | None = None  # learned values only

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value, "source": self.source}
        if self.confidence is not None:
            data["confidence"] = self.confidence
        return data


def resolve_panel(
    stored: StoredPreferences, registry: PanelRegistry, panel: str
) -> dict[str, Resolved]:
    """Every field of ``panel`` that has a value, with where the value comes from."""
    resolved: dict[str, Resolved] = {}
    org = registry.org_defaults.get(panel, {})
    product = registry.defaults(panel)
    for name in registry.fields(panel):
        path = f"{panel}.{name}"
        learned = stored.learned.get(path)
        candidates: list[tuple[Any, Source, float | None]] = [
            (explicit_value(stored.explicit, path), "user", None),
            (None, "learned", None)
            if learned is None
            else (learned.value, "learned", learned.confidence),
            (org.get(name), "org", None),
            (product.get(name), "default", None),
        ]
        for value, source, confidence in candidates:
            if value is None:
                continue
            ok, normalised = registry.valid_value(path, value)
            if ok:
                resolved[name] = Resolved(normalised, source, confidence)
                break
    return resolved


def preferences_document(stored: StoredPreferences, registry: PanelRegistry) -> dict[str, Any]:
    """The body of ``GET /v1/preferences``: the clients' shape (``preferences``, ``tier``,
    ``favorite_panels``) plus ``learned`` (path → confidence, only where the learned value is
    the effective one), ``sources`` (path → where each value comes from), ``panels`` (each
    panel's fields: type, ``options`` where the field takes one of a set, limits) and
    ``version``."""
    panels: dict[str, dict[str, Any]] = {}
    learned: dict[str, float] = {}
    sources: dict[str, Source] = {}
    for panel in registry.names():
        fields = resolve_panel(stored, registry, panel)
        panels[panel] = {name: item.value for name, item in fields.items()}
        for name, item in fields.items():
            sources[f"{panel}.{name}"] = item.source
            if item.source == "learned" and item.confidence is not None:
                learned[f"{panel}.{name}"] = item.confidence
    explicit = registry.prune(stored.explicit)
    return {
        "preferences": panels,
        "tier": explicit.get("tier", DEFAULT_TIER),
        "favorite_panels": explicit.get("favorite_panels", []),
        "learned": learned,
        "sources": sources,
        "panels": registry.descriptions,
        "version": stored.version,
    }


def smart_defaults(
    stored: StoredPreferences | None, registry: PanelRegistry, panel: str | None
) -> dict[str, dict[str, Any]]:
    """The values a chat's ``meta`` offers for ``panel``: what the user set, what was learned
    about them and what their org chose. The product's defaults are left out: they say
    nothing about this user, and the client has them from ``GET /v1/preferences``."""
    if stored is None or panel is None or panel not in registry.models:
        return {}
    return {
        name: item.to_json()
        for name, item in resolve_panel(stored, registry, panel).items()
        if item.source != "default"
    }
