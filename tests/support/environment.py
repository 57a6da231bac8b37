"""Pointing code that reads its settings from the environment (the CLI, a function's entry
module) at one test's tables."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from parley.config import get_settings
from parley.state.client import dynamodb_client
from parley.state.tables import table_definitions
from parley.state.template import load_template
from tests.conftest import TEMPLATE

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

    from parley.config import Settings

__all__ = ["table_variables", "tables_of"]


def table_variables(settings: Settings) -> dict[str, str]:
    """``PARLEY_*_TABLE`` -> the name of ``settings``' table, for every table of the template."""
    return {
        f"PARLEY_{definition.settings_field.upper()}": definition.name(settings)
        for definition in table_definitions(load_template(TEMPLATE))
    }


@contextmanager
def tables_of(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every ``PARLEY_*_TABLE`` variable names ``settings``' table; the process's cached
    settings and DynamoDB client are rebuilt on entry and on exit."""
    for name, value in table_variables(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    dynamodb_client.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
        dynamodb_client.cache_clear()
