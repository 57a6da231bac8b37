"""What ``sam local`` gives a function, read where SAM reads it: its code folder and handler
from template.yaml, its environment from the template resolved as SAM resolves it with
tests/events/env.json over it, its schedules' input."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from parley.state.template import load_template
from tests.conftest import REPO, TEMPLATE
from tests.support.lambdas import function_handler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pytest

    from parley.config import Settings
    from tests.support.lambdas import Handler

__all__ = [
    "ENV_FILE",
    "EVENTS_DIR",
    "TemplateFunction",
    "env_file",
    "event_names",
    "invocations",
    "invokes",
    "sam_environment",
    "template_functions",
    "template_handler",
]

EVENTS_DIR = REPO / "tests" / "events"
ENV_FILE = EVENTS_DIR / "env.json"

# (function's logical id, event name) -> the test that invokes the event through that function.
_INVOCATIONS: dict[tuple[str, str], str] = {}


def invokes[F: Callable[..., Any]](function: str, *events: str) -> Callable[[F], F]:
    """Records that the decorated test invokes each of ``events`` (tests/events/<name>.json)
    through ``function`` (a logical id of template.yaml), for the cross-check that every
    function and every event has one."""

    def record(test: F) -> F:
        for event in events:
            _INVOCATIONS[(function, event)] = f"{test.__module__}.{test.__qualname__}"
        return test

    return record


def invocations() -> dict[tuple[str, str], str]:
    return dict(_INVOCATIONS)


@dataclass(frozen=True)
class TemplateFunction:
    logical_id: str
    code_uri: str  # "functions/jobs/"
    handler: str  # "handlers.learn_preferences", or "run.sh" under the Web Adapter
    variables: dict[str, Any]  # the Globals' variables, then the function's own, as written
    schedule_inputs: tuple[str, ...]  # each ScheduleV2 event's Input
    event_types: tuple[str, ...]  # each of its Events' Type (ScheduleV2, SNS...)
    function_url: bool  # whether it has a FunctionUrlConfig

    @property
    def folder(self) -> str:
        return PurePosixPath(self.code_uri).name

    @property
    def module_and_attribute(self) -> tuple[str, str]:
        module, _, attribute = self.handler.rpartition(".")
        return module, attribute


def template_functions() -> dict[str, TemplateFunction]:
    template = load_template(TEMPLATE)
    shared = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    functions: dict[str, TemplateFunction] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        own = properties.get("Environment", {}).get("Variables", {})
        events = properties.get("Events", {}).values()
        functions[logical_id] = TemplateFunction(
            logical_id=logical_id,
            code_uri=properties["CodeUri"],
            handler=properties["Handler"],
            variables={**shared.get("Variables", {}), **own},
            schedule_inputs=tuple(
                event["Properties"]["Input"] for event in events if event["Type"] == "ScheduleV2"
            ),
            event_types=tuple(event["Type"] for event in events),
            function_url="FunctionUrlConfig" in properties,
        )
    return functions


def env_file() -> dict[str, dict[str, str]]:
    document: dict[str, dict[str, str]] = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    return document


def event_names() -> set[str]:
    """The events in tests/events/ (every JSON file but the environment file)."""
    return {path.stem for path in EVENTS_DIR.glob("*.json") if path != ENV_FILE}


def sam_environment(function: TemplateFunction) -> dict[str, str]:
    """The variables ``sam local`` sets for ``function`` (besides its own ``AWS_*``): those the
    template declares, a parameter's ``Ref`` as its default and a resource's as its logical id
    (other intrinsics empty), then env.json's value for each declared name. SAM passes no
    variable the template does not declare, whatever env.json says."""
    parameters = load_template(TEMPLATE).get("Parameters", {})
    overrides = env_file().get(function.logical_id, {})
    resolved: dict[str, str] = {}
    for name, value in function.variables.items():
        if name in overrides:
            resolved[name] = overrides[name]
        elif isinstance(value, str):
            resolved[name] = value
        elif isinstance(value, dict) and set(value) == {"Ref"}:
            reference = value["Ref"]
            resolved[name] = str(parameters.get(reference, {}).get("Default", reference))
        else:
            resolved[name] = ""
    return resolved


def template_handler(
    logical_id: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    **services: str,
) -> Iterator[Handler]:
    """The handler template.yaml names for ``logical_id``, imported from its CodeUri as Lambda
    imports it, in the environment ``sam local`` would give it, with this test's DynamoDB
    (moto) and tables in place of env.json's, and ``services`` (variables of the test's own
    servers) over it."""
    function = template_functions()[logical_id]
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    for name, value in sam_environment(function).items():
        monkeypatch.setenv(name, value)
    if endpoint is not None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    for name, value in services.items():
        monkeypatch.setenv(name, value)
    module, attribute = function.module_and_attribute
    yield from function_handler(function.folder, module, attribute, settings, monkeypatch)
