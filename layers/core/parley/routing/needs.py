"""What a request needs of a model beyond text, against what each model declares in the
catalog (``Capabilities``): function calling, images of the types it carries, output held to
a JSON schema. Routing skips the models of a chain that lack one and says so; a chain left
with none is a 422 that names the capability and the models that have it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from parley.errors import ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from parley.providers.base import ChatMessage, ResponseSchema, ToolSpec
    from parley.providers.catalog import ModelSpec

__all__ = ["Needs", "capability_unavailable"]


@dataclass(frozen=True, slots=True)
class Needs:
    tools: bool = False
    image_types: frozenset[str] = field(default_factory=frozenset)
    json_schema: bool = False

    @classmethod
    def of(
        cls,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] = (),
        response_schema: ResponseSchema | None = None,
    ) -> Needs:
        """What a request needs: tools when it offers some or its conversation called some
        (a model must read the calls and results), the media types of its images, a JSON
        schema when it carries one (``json_object`` alone works by prompt anywhere)."""
        return cls(
            tools=bool(tools) or any(m.role == "tool" or m.tool_calls for m in messages),
            image_types=frozenset(image.media_type for m in messages for image in m.images),
            json_schema=response_schema is not None,
        )

    def __bool__(self) -> bool:
        return self.tools or bool(self.image_types) or self.json_schema

    def lacking(self, spec: ModelSpec) -> list[str]:
        """The capabilities ``spec`` lacks, by name ("tools", "vision (image/webp)")."""
        capabilities = spec.capabilities
        lacking: list[str] = []
        if self.tools and not capabilities.tools:
            lacking.append("tools")
        missing_types = sorted(self.image_types - set(capabilities.vision))
        if missing_types:
            lacking.append(f"vision ({', '.join(missing_types)})")
        if self.json_schema and not capabilities.json_schema:
            lacking.append("json_schema")
        return lacking

    def names(self) -> list[str]:
        named = ["tools"] if self.tools else []
        if self.image_types:
            named.append(f"vision ({', '.join(sorted(self.image_types))})")
        if self.json_schema:
            named.append("json_schema")
        return named

    def capable(self, chain: Iterable[ModelSpec]) -> tuple[list[ModelSpec], list[str]]:
        """The models of ``chain`` that have everything needed, and a note for each skipped."""
        kept: list[ModelSpec] = []
        skipped: list[str] = []
        for spec in chain:
            lacking = self.lacking(spec)
            if lacking:
                skipped.append(f"{spec.name} (no {', '.join(lacking)})")
            else:
                kept.append(spec)
        return kept, skipped


def capability_unavailable(
    needs: Needs,
    considered: Sequence[ModelSpec],
    catalog: Iterable[ModelSpec],
    is_available: Callable[[ModelSpec], bool],
) -> ValidationFailed:
    """422: none of ``considered`` has what the request needs; which models do, those this
    deployment can call first."""
    having = [spec for spec in catalog if not needs.lacking(spec)]
    callable_here = [spec.name for spec in having if is_available(spec)]
    needed = " and ".join(needs.names())
    tried = ", ".join(spec.name for spec in considered) or "none"
    if callable_here:
        where = (
            f" Models here that have it: {', '.join(callable_here)}; name one as the model, "
            "or put one in the route's chain."
        )
    elif having:
        where = (
            f" Models of the catalog that have it: {', '.join(s.name for s in having)}; none "
            "has its provider's API key configured here."
        )
    else:
        where = " No model of this deployment's catalog has it."
    return ValidationFailed(
        f"This request needs {needed}, which none of the models it could be routed to "
        f"has ({tried}).{where}",
        code="capability_unavailable",
        details={
            "capabilities": needs.names(),
            "considered": [spec.name for spec in considered],
            "models": [spec.name for spec in having],
            "available": callable_here,
        },
    )
