"""A user's effective preferences: per field, the first of what the user set, what was learned,
the org's default and the product's default.

Values a panel no longer accepts (an org narrowed a field, removed a panel) are skipped at every
level, so what a client sees always validates against the panels it is told about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from parley.panels import DEFAULT_TIER
from parley.preferences.stored import explicit_value

if TYPE_CHECKING:
    from parley.panels import PanelRegistry
    from parley.preferences.stored import LearnedValue, StoredPreferences

__all__ = [
    "Resolved",
    "Source",
    "explanation",
    "preferences_document",
    "resolve_panel",
    "smart_defaults",
]

Source = Literal["user", "learned", "org", "default"]


@dataclass(frozen=True)
class Resolved:
    value: Any  # as the panel's model normalises it
    source: Source
    learned: LearnedValue | None = None  # the stored learned value, when it is the one in effect

    @property
    def confidence(self) -> float | None:
        return None if self.learned is None else self.learned.confidence

    def to_json(self) -> dict[str, Any]:
        """``{value, source}``, and for a learned value its ``confidence`` and ``messages`` (the
        messages behind it; null for a value learned before issue 14 kept count)."""
        data: dict[str, Any] = {"value": self.value, "source": self.source}
        if self.learned is not None:
            data["confidence"] = self.learned.confidence
            data["messages"] = self.learned.messages
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
        candidates: list[tuple[Any, Source, LearnedValue | None]] = [
            (explicit_value(stored.explicit, path), "user", None),
            (None if learned is None else learned.value, "learned", learned),
            (org.get(name), "org", None),
            (product.get(name), "default", None),
        ]
        for value, source, behind in candidates:
            if value is None:
                continue
            ok, normalised = registry.valid_value(path, value)
            if ok:
                resolved[name] = Resolved(normalised, source, behind)
                break
    return resolved


def preferences_document(
    stored: StoredPreferences, registry: PanelRegistry, *, explain: bool = False
) -> dict[str, Any]:
    """The body of ``GET /v1/preferences``: the clients' shape (``preferences``, ``tier``,
    ``favorite_panels``) plus ``learned`` (path → confidence, only where the learned value is
    the effective one), ``learned_details`` (the same paths → ``{value, confidence, messages,
    learned_at}``), ``sources`` (path → where each value comes from), ``panels`` (each
    panel's fields: type, ``options`` where the field takes one of a set, limits) and
    ``version``; with ``explain``, also ``explanations`` (the same paths → ``{value,
    confidence, messages, support}``, see ``explanation``)."""
    panels: dict[str, dict[str, Any]] = {}
    learned: dict[str, float] = {}
    details: dict[str, dict[str, Any]] = {}
    explanations: dict[str, dict[str, Any]] = {}
    sources: dict[str, Source] = {}
    for panel in registry.names():
        fields = resolve_panel(stored, registry, panel)
        panels[panel] = {name: item.value for name, item in fields.items()}
        for name, item in fields.items():
            path = f"{panel}.{name}"
            sources[path] = item.source
            if item.source == "learned" and item.learned is not None:
                learned[path] = item.learned.confidence
                details[path] = _details(item.value, item.learned)
                if explain:
                    explanations[path] = explanation(path, item.value, item.learned, registry)
    explicit = registry.prune(stored.explicit)
    document: dict[str, Any] = {
        "preferences": panels,
        "tier": explicit.get("tier", DEFAULT_TIER),
        "favorite_panels": explicit.get("favorite_panels", []),
        "learned": learned,
        "learned_details": details,
        "sources": sources,
        "panels": registry.descriptions,
        "version": stored.version,
    }
    if explain:
        document["explanations"] = explanations
    return document


def _details(value: Any, learned: LearnedValue) -> dict[str, Any]:
    return {
        "value": value,
        "confidence": learned.confidence,
        "messages": learned.messages,
        "learned_at": learned.learned_at or None,
    }


def explanation(
    path: str, value: Any, learned: LearnedValue, registry: PanelRegistry
) -> dict[str, Any]:
    """Why ``path`` has its learned ``value``: ``{value, confidence, messages, support}``,
    ``support`` being ``[{"value", "weight"}]``, the net weighted support of the few best
    options the job kept, highest first, each value as the field takes it (a list, a number…,
    not the JSON text it is stored under; an option the field no longer takes is left out).
    ``messages`` and ``support`` are null for a value learned before they were recorded."""
    support = None
    if learned.support is not None:
        options = [
            (option, weight)
            for label, weight in learned.support.items()
            if (option := _option(path, label, registry)) is not _INVALID
        ]
        options.sort(key=lambda item: (-item[1], json.dumps(item[0], sort_keys=True)))
        support = [{"value": option, "weight": weight} for option, weight in options]
    return {
        "value": value,
        "confidence": learned.confidence,
        "messages": learned.messages,
        "support": support,
    }


_INVALID = object()


def _option(path: str, label: str, registry: PanelRegistry) -> Any:
    """The value a ``support`` key stands for (a string field's option is its own key, any
    other value its JSON text), normalised by the field; ``_INVALID`` if the field rejects it."""
    panel, _, name = path.partition(".")
    described = registry.descriptions.get(panel, {}).get("fields", {}).get(name, {})
    candidate: Any = label
    if described.get("type") != "string":
        try:
            candidate = json.loads(label)
        except ValueError:
            return _INVALID
    ok, normalised = registry.valid_value(path, candidate)
    return normalised if ok else _INVALID


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
