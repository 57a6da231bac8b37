"""Reading ``template.yaml``: the one place Parley's tables are defined.

Local development and the tests create their tables from the template's own resources, so a
table changed in the template is changed everywhere at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from parley.errors import ConfigurationError

__all__ = ["find_template", "load_template"]

TEMPLATE_NAME = "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short tags (``!Ref X``, ``!Sub ...``) as the
    long forms (``{"Ref": "X"}``, ``{"Fn::Sub": ...}``) instead of failing on them."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


def load_template(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506 (SafeLoader subclass)
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {path}: {exc.strerror}.") from exc
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path} is not a CloudFormation template.")
    return document


def find_template(explicit: Path | None = None, start: Path | None = None) -> Path:
    """``explicit`` when given; else the nearest template.yaml above ``start`` (the working
    directory), then above this package (an editable install inside the repository)."""
    if explicit is not None:
        return explicit
    for origin in (start or Path.cwd(), Path(__file__).resolve().parent):
        for folder in (origin, *origin.parents):
            candidate = folder / TEMPLATE_NAME
            if candidate.is_file():
                return candidate
    raise ConfigurationError(
        f"No {TEMPLATE_NAME} found; run from the repository or set PARLEY_TEMPLATE_FILE."
    )
