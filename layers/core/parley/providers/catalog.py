"""The model catalog: which models exist, who serves them, what they cost.

A YAML file named by ``PARLEY_MODELS_FILE``; the one shipped beside this module is the
default. Prices are data: change the file, not the code.

    default_model: gpt-4.1-mini
    models:
      - name: gpt-4.1-mini          # what clients ask for
        provider: openai            # openai | anthropic | gemini | openai_compatible | local
        model: gpt-4.1-mini         # the provider's own id
        base_url: null              # required for openai_compatible
        api_key_env: OPENAI_API_KEY # where the key comes from (or the secret, see keys.py)
        tier: light                 # light | standard | heavy
        context_window: 1047576
        input_price_per_mtok: 0.40  # USD per million tokens
        output_price_per_mtok: 1.60
    routing:                        # optional: the fallback chains, in order, by route
      light: [gpt-4.1-mini, gemini-2.5-flash]
      cheap: [gemini-2.5-flash, gpt-4.1-mini]

A route without a chain here gets one derived from the tiers and prices (``parley.routing``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parley.errors import ConfigurationError
from parley.validation import problems, summary

if TYPE_CHECKING:
    from parley.providers.usage import Usage

__all__ = [
    "DEFAULT_CATALOG",
    "ROUTES",
    "Capabilities",
    "Catalog",
    "CatalogRouting",
    "ModelSpec",
    "load_catalog",
]

DEFAULT_CATALOG = Path(__file__).with_name("models.yaml")

ProviderName = Literal["openai", "anthropic", "gemini", "openai_compatible", "local"]
Tier = Literal["light", "standard", "heavy"]
TIER_ORDER: dict[str, int] = {"light": 0, "standard": 1, "heavy": 2}
# The routes a chain can be configured for: the three tiers, long prompts and the two modes
# that do not go by tier.
ROUTES = ("light", "standard", "heavy", "long_context", "cheap", "smart")


class Capabilities(BaseModel):
    """What a model can take beyond text: function calling (``tools``), images (``vision``:
    the media types it accepts; empty, none) and output held to a JSON schema
    (``json_schema``). A catalog entry that says nothing claims nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tools: bool = False
    vision: tuple[str, ...] = Field(default=(), max_length=20)
    json_schema: bool = False

    @model_validator(mode="after")
    def _media_types(self) -> Capabilities:
        bad = [kind for kind in self.vision if not kind.startswith("image/")]
        if bad:
            raise ValueError(f"vision takes image media types, not {bad}")
        return self

    def as_json(self) -> dict[str, object]:
        return {"tools": self.tools, "vision": list(self.vision), "json_schema": self.json_schema}


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$")
    provider: ProviderName
    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str | None = None
    tier: Tier
    context_window: int = Field(gt=0)
    input_price_per_mtok: float = Field(ge=0)
    output_price_per_mtok: float = Field(ge=0)
    max_output_tokens: int = Field(default=4096, gt=0)
    capabilities: Capabilities = Capabilities()

    @model_validator(mode="after")
    def _compatible_needs_a_url(self) -> ModelSpec:
        if self.provider == "openai_compatible" and not self.base_url:
            raise ValueError(f"model {self.name}: openai_compatible needs base_url")
        return self

    def cost_usd(self, usage: Usage) -> float:
        cost = (
            usage.input_tokens * self.input_price_per_mtok
            + usage.output_tokens * self.output_price_per_mtok
        ) / 1_000_000
        return round(cost, 8)


class CatalogRouting(BaseModel):
    """The deployment's fallback chain per route: model names, tried in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    light: tuple[str, ...] = ()
    standard: tuple[str, ...] = ()
    heavy: tuple[str, ...] = ()
    long_context: tuple[str, ...] = ()
    cheap: tuple[str, ...] = ()
    smart: tuple[str, ...] = ()

    def chain(self, route: str) -> tuple[str, ...]:
        names: tuple[str, ...] = getattr(self, route)
        return names

    def names(self) -> set[str]:
        return {name for route in ROUTES for name in self.chain(route)}


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default_model: str
    models: tuple[ModelSpec, ...] = Field(min_length=1)
    routing: CatalogRouting = CatalogRouting()

    @model_validator(mode="after")
    def _names_are_unique_and_default_exists(self) -> Catalog:
        names = [spec.name for spec in self.models]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"model names must be unique: {duplicates}")
        if self.default_model not in names:
            raise ValueError(f"default_model {self.default_model!r} is not in the catalog")
        unknown = sorted(self.routing.names() - set(names))
        if unknown:
            raise ValueError(f"routing names models that are not in the catalog: {unknown}")
        return self

    def get(self, name: str) -> ModelSpec | None:
        for spec in self.models:
            if spec.name == name:
                return spec
        return None

    def names(self) -> list[str]:
        return [spec.name for spec in self.models]


def load_catalog(path: Path | None = None) -> Catalog:
    source = path or DEFAULT_CATALOG
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read the model catalog {source}: {exc.strerror}."
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"The model catalog {source} is not valid YAML: {exc}") from exc
    try:
        return Catalog.model_validate(document)
    except ValidationError as exc:
        found = problems(exc.errors())
        listed = "; ".join(summary([problem]) for problem in found)
        raise ConfigurationError(f"The model catalog {source} is not valid: {listed}") from exc
