"""A series: the dimensions one rollup is kept for within an org and an hour or a day."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.state.usage import UsageEvent

__all__ = ["DIMENSIONS", "UNKNOWN", "Series"]

# What a dimension an event or a record does not carry is kept as.
UNKNOWN = "-"
# Separates the dimensions in a series' key; a value never contains it (it is replaced).
_SEPARATOR = "|"


@dataclass(frozen=True, order=True)
class Series:
    model: str
    provider: str
    task_type: str = UNKNOWN
    panel: str = UNKNOWN
    route: str = UNKNOWN  # light, standard, heavy, long_context, cheap, smart or a named route
    tier: str = UNKNOWN
    endpoint: str = UNKNOWN  # stream or completions
    # What the crisis guardrail decided, ``<action>:<category>:<stage>`` (``safety_marks``), on
    # a request's first call and on feedback about its reply; UNKNOWN elsewhere.
    guardrail: str = UNKNOWN

    @classmethod
    def of(cls, **values: Any) -> Series:
        """The series of these dimensions; a missing or empty one is ``UNKNOWN``."""
        return cls(**{name: _clean(values.get(name)) for name in DIMENSIONS})

    @classmethod
    def from_event(cls, event: UsageEvent) -> Series:
        return cls.of(
            model=event.model,
            provider=event.provider,
            task_type=event.task_type,
            panel=event.panel,
            route=event.route,
            tier=event.tier,
            endpoint=event.endpoint,
            guardrail=event.guardrail,
        )

    def key(self) -> str:
        """Its key in a rollup item's sort key: the dimensions in order, without the trailing
        unknown ones added after the first seven. A series that carries none of the newer
        dimensions keeps the key it had before they existed, so rewriting an old span names
        (and replaces) the items it stored then rather than adding a second copy of them."""
        values = [getattr(self, name) for name in DIMENSIONS]
        while len(values) > _KEYED and values[-1] == UNKNOWN:
            values.pop()
        return _SEPARATOR.join(values)

    @classmethod
    def from_key(cls, key: str) -> Series:
        """The series of ``key``; the dimensions a shorter (older) key lacks are UNKNOWN."""
        values = key.split(_SEPARATOR)
        if len(values) > len(DIMENSIONS):
            raise ValueError(f"a series key has at most {len(DIMENSIONS)} dimensions: {key!r}")
        return cls(*values, *[UNKNOWN] * (len(DIMENSIONS) - len(values)))

    def dimensions(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DIMENSIONS}


DIMENSIONS: tuple[str, ...] = tuple(field.name for field in fields(Series))
# The dimensions every key spells out, unknown or not: those of the first rollups stored.
_KEYED = DIMENSIONS.index("endpoint") + 1


def _clean(value: object) -> str:
    if value is None or value == "":
        return UNKNOWN
    return str(value).replace(_SEPARATOR, "_")
