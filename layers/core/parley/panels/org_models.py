"""Pydantic models for the panels an org defines in its settings (``PanelSpec``), built with
``create_model``: each field spec becomes a type with its limits and allowed values."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, create_model

from parley.bounds import SafeFloat, SafeInt
from parley.panels.models import MAX_LIST, MAX_STRING
from parley.panels.spec import PanelFieldSpec

__all__ = ["org_panel_model"]


def org_panel_model(name: str, fields: dict[str, Any], *, base: type[BaseModel]) -> type[BaseModel]:
    """The model of the org panel ``name`` from its field specs (``PanelFieldSpec`` as JSON):
    every field optional, validated like the built-in panels (``base``)."""
    definitions: dict[str, Any] = {
        field_name: (_annotation(PanelFieldSpec.model_validate(spec)) | None, None)
        for field_name, spec in fields.items()
    }
    return create_model(f"OrgPanel_{name}", __base__=base, **definitions)


def _annotation(spec: PanelFieldSpec) -> Any:
    """The pydantic type of one org-defined field."""
    if spec.type == "boolean":
        return bool
    if spec.type in ("integer", "number"):
        # Without limits of its own, a field takes what any number may be (parley.bounds).
        base: Any = SafeInt if spec.type == "integer" else SafeFloat
        return _annotated(base, Field(ge=spec.minimum, le=spec.maximum), *_one_of(spec.enum))
    limit = spec.max_length if spec.max_length is not None else MAX_STRING
    text = _annotated(str, StringConstraints(min_length=1, max_length=limit), *_one_of(spec.enum))
    if spec.type == "string":
        return text
    items = spec.max_length if spec.max_length is not None else MAX_LIST
    # Each element is checked against the options, so a refusal names its index.
    strings = _annotated(
        str, StringConstraints(min_length=1, max_length=MAX_STRING), *_one_of(spec.enum)
    )
    return Annotated[list[strings], Field(max_length=items)]  # type: ignore[valid-type]


def _annotated(base: Any, *metadata: Any) -> Any:
    return Annotated[(base, *metadata)] if metadata else base


def _one_of(enum: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The check that a value is one of the field's options, and the options in its JSON
    Schema (``enum``), from the one tuple, so that what the schema says is what is enforced."""
    if enum is None:
        return ()
    allowed = tuple(enum)

    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"must be one of {list(allowed)}")
        return value

    return (AfterValidator(check), Field(json_schema_extra={"enum": list(allowed)}))
