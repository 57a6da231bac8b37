"""The set of panels one org's users have: it validates a whole explicit document (the user's
own, sent to ``PUT /v1/preferences``), a single learned value, and the org's defaults, and it
prunes a stored document of values a panel no longer accepts (an org may remove a panel or
narrow a field after its users saved values). It also describes each panel's fields and their
options (from the models' JSON Schema, so the description is what validation enforces) and
checks a chat request's ``choices`` for a panel. Registries are kept per distinct definition."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from parley.errors import ValidationFailed
from parley.panels.models import BUILTIN_DEFAULTS, BUILTIN_PANELS, MAX_FAVORITE_PANELS, Panel
from parley.panels.org_models import org_panel_model
from parley.validation import Problem, problems, summary

if TYPE_CHECKING:
    from collections.abc import Mapping

    from parley.panels.spec import PanelDefinitions

__all__ = ["HasPanels", "PanelRegistry", "split_path"]

_TIER = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")]


class HasPanels(Protocol):
    """Whatever carries an org's panel definitions: its settings."""

    @property
    def preferences(self) -> PanelDefinitions: ...


def split_path(path: str) -> tuple[str, str] | None:
    """``"pictures.defaultStyle"`` → ``("pictures", "defaultStyle")``; None if not a path."""
    panel, dot, name = path.partition(".")
    return (panel, name) if dot and panel and name and "." not in name else None


@dataclass(frozen=True)
class PanelRegistry:
    """The panels of one org: models by name, detection keywords of the org's own panels,
    and the org's defaults (already validated with the org settings)."""

    models: Mapping[str, type[BaseModel]]
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    org_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @staticmethod
    def builtin() -> PanelRegistry:
        return _registry("{}")

    @staticmethod
    def for_org(settings: HasPanels | None) -> PanelRegistry:
        return (
            PanelRegistry.builtin() if settings is None else _registry(_key(settings.preferences))
        )

    @staticmethod
    def for_preferences(preferences: PanelDefinitions) -> PanelRegistry:
        return _registry(_key(preferences))

    def names(self) -> list[str]:
        return list(self.models)

    def fields(self, panel: str) -> list[str]:
        model = self.models.get(panel)
        return [] if model is None else list(model.model_fields)

    @cached_property
    def descriptions(self) -> dict[str, dict[str, Any]]:
        """Each panel's fields as ``GET /v1/preferences`` shows them: panel →
        ``{"fields": {name: {"type", "options"?, "minimum"?, "maximum"?, "max_length"?}}}``,
        types named as an org's field specs name them (``string_list`` for a list)."""
        return {
            panel: {
                "fields": {
                    name: _describe(schema)
                    for name, schema in model.model_json_schema()["properties"].items()
                }
            }
            for panel, model in self.models.items()
        }

    def options(self, panel: str, name: str) -> list[Any] | None:
        """The values ``panel.name`` takes (each element's, for a list), None if any value of
        its type within its limits."""
        described = self.descriptions.get(panel, {}).get("fields", {}).get(name)
        return None if described is None else described.get("options")

    def choice_problems(
        self, panel: str, choices: Mapping[str, Any], prefix: tuple[str | int, ...] = ()
    ) -> list[Problem]:
        """What is wrong with a chat request's ``choices`` for ``panel``, a known panel: a
        field the panel does not have (``allowed``: its fields), a value it does not take
        (``allowed``: the field's options, when it has a set), each at its path under
        ``prefix``. Empty when every choice is valid."""
        model = self.models[panel]
        found: list[Problem] = []
        for name, value in choices.items():
            if name not in model.model_fields:
                found.append(
                    {
                        "loc": [*prefix, name],
                        "msg": f"not a field of the {panel!r} panel",
                        "type": "unknown_field",
                        "allowed": list(model.model_fields),
                    }
                )
                continue
            try:
                model.model_validate({name: value})
            except ValidationError as exc:
                found.extend(
                    self._with_allowed(problem, panel, name)
                    for problem in problems(exc.errors(), prefix)
                )
        return found

    def _with_allowed(self, problem: Problem, panel: str, name: str) -> Problem:
        """``problem`` with ``allowed``, the options of ``panel.name``, when it has a set."""
        options = self.options(panel, name)
        return problem if options is None else {**problem, "allowed": options}

    def defaults(self, panel: str) -> dict[str, Any]:
        """The product's defaults for ``panel`` (built-in panels only)."""
        return dict(BUILTIN_DEFAULTS.get(panel, {}))

    @cached_property
    def document_model(self) -> type[BaseModel]:
        """The model of a whole explicit document with these panels."""
        return _document_model(self.models)

    def validate_document(self, document: Any) -> dict[str, Any]:
        """A user's explicit document, validated and normalised (only what was set).
        ValidationFailed (422) with every problem's path otherwise."""
        if not isinstance(document, dict):
            raise ValidationFailed("The preferences must be a JSON object.")
        try:
            parsed = self.document_model.model_validate(document)
        except ValidationError as exc:
            found = [self._document_problem(problem) for problem in problems(exc.errors())]
            raise ValidationFailed(summary(found), details=found) from exc
        normalised: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
        favorites = normalised.get("favorite_panels")
        if favorites is not None:
            self._check_favorites(favorites)
        panels = {
            name: values for name, values in normalised.get("preferences", {}).items() if values
        }
        if panels:
            normalised["preferences"] = panels
        else:
            normalised.pop("preferences", None)
        return normalised

    def _document_problem(self, problem: Problem) -> Problem:
        """A problem of a document: with ``allowed`` when it is a panel field's value."""
        loc = problem["loc"]
        if len(loc) < 3 or loc[0] != "preferences":
            return problem
        panel, name = loc[1], loc[2]
        if isinstance(panel, str) and isinstance(name, str) and panel in self.models:
            return self._with_allowed(problem, panel, name)
        return problem

    def valid_value(self, path: str, value: Any) -> tuple[bool, Any]:
        """Whether ``value`` is acceptable at ``path`` (``"panel.field"``), and the value as
        the panel's model normalises it."""
        parts = split_path(path)
        model = self.models.get(parts[0]) if parts else None
        if parts is None or model is None or parts[1] not in model.model_fields:
            return False, None
        try:
            parsed = model.model_validate({parts[1]: value})
        except ValidationError:
            return False, None
        dumped = parsed.model_dump(mode="json", exclude_none=True)
        return (parts[1] in dumped), dumped.get(parts[1])

    def prune(self, document: dict[str, Any]) -> dict[str, Any]:
        """``document`` without the values this registry no longer accepts; never raises."""
        kept: dict[str, Any] = {}
        panels = document.get("preferences")
        if isinstance(panels, dict):
            kept_panels: dict[str, Any] = {}
            for panel, values in panels.items():
                if not isinstance(values, dict):
                    continue
                for name, value in values.items():
                    ok, normalised = self.valid_value(f"{panel}.{name}", value)
                    if ok:
                        kept_panels.setdefault(panel, {})[name] = normalised
            if kept_panels:
                kept["preferences"] = kept_panels
        tier = document.get("tier")
        if isinstance(tier, str):
            kept["tier"] = tier
        favorites = document.get("favorite_panels")
        if isinstance(favorites, list):
            known = [name for name in favorites if isinstance(name, str) and name in self.models]
            kept["favorite_panels"] = list(dict.fromkeys(known))[:MAX_FAVORITE_PANELS]
        return kept

    def check_defaults(self, defaults: Mapping[str, Mapping[str, Any]]) -> None:
        """ValueError (for a settings validator) when an org default names an unknown panel or
        field or does not validate."""
        for panel, values in defaults.items():
            if panel not in self.models:
                raise ValueError(f"defaults name an unknown panel: {panel}")
            for name, value in values.items():
                ok, _ = self.valid_value(f"{panel}.{name}", value)
                if not ok:
                    raise ValueError(f"default {panel}.{name} is not a valid value for the panel")

    def _check_favorites(self, favorites: list[str]) -> None:
        details = [
            {
                "loc": ["favorite_panels", index],
                "msg": f"unknown panel {name!r}",
                "type": "unknown_panel",
            }
            for index, name in enumerate(favorites)
            if name not in self.models
        ]
        if len(set(favorites)) != len(favorites):
            details.append(
                {
                    "loc": ["favorite_panels"],
                    "msg": "a panel may be listed only once",
                    "type": "unique",
                }
            )
        if details:
            raise ValidationFailed(summary(details), details=details)


def _describe(schema: Mapping[str, Any]) -> dict[str, Any]:
    """One optional field's JSON Schema (``anyOf`` it and null) as the API describes it."""
    variants = [v for v in schema.get("anyOf", [schema]) if v.get("type") != "null"]
    field_schema = variants[0] if variants else {}
    kind = field_schema.get("type")
    described: dict[str, Any] = {"type": "string_list" if kind == "array" else kind}
    values = field_schema.get("items", {}) if kind == "array" else field_schema
    if "enum" in values:
        described["options"] = list(values["enum"])
    for key in ("minimum", "maximum"):
        if key in field_schema:
            bound = field_schema[key]
            integral = kind == "integer" and isinstance(bound, float) and bound.is_integer()
            described[key] = int(bound) if integral else bound
    # A list's items, a string's characters (a string with options is bounded by them).
    limit = field_schema.get("maxItems" if kind == "array" else "maxLength")
    if limit is not None and (kind == "array" or "options" not in described):
        described["max_length"] = limit
    return described


def _key(preferences: PanelDefinitions) -> str:
    # The canonical JSON of the org's preferences section: orgs with the same definition share
    # models, and a changed definition gets new ones.
    return json.dumps(preferences.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=256)
def _registry(key: str) -> PanelRegistry:
    section = json.loads(key)
    models: dict[str, type[BaseModel]] = dict(BUILTIN_PANELS)
    keywords: dict[str, tuple[str, ...]] = {}
    for name, spec in section.get("panels", {}).items():
        models[name] = org_panel_model(name, spec["fields"], base=Panel)
        keywords[name] = tuple(spec.get("keywords", ()))
    return PanelRegistry(models=models, keywords=keywords, org_defaults=section.get("defaults", {}))


def _document_model(models: Mapping[str, type[BaseModel]]) -> type[BaseModel]:
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    panels = create_model(
        "PreferencePanels",
        __config__=config,
        **{name: (model | None, None) for name, model in models.items()},  # type: ignore[call-overload]
    )
    return create_model(
        "PreferencesDocument",
        __config__=config,
        preferences=(panels | None, None),
        tier=(_TIER | None, None),
        favorite_panels=(Annotated[list[str], Field(max_length=MAX_FAVORITE_PANELS)] | None, None),
    )
