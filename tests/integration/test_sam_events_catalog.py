"""tests/events/ against template.yaml: every function has an event and a test that invokes it
(tests/integration/test_sam_*_events.py), every event is invoked, each event is the kind its
function receives, and env.json gives every function a local environment."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING

import pytest

from parley.config import Settings
from parley.state.template import load_template
from tests.conftest import REPO, TEMPLATE
from tests.support.environment import table_variables
from tests.support.event_file import main as event_file
from tests.support.sam_local import (
    env_file,
    event_names,
    invocations,
    sam_environment,
    template_functions,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


@pytest.fixture(scope="module")
def invoked() -> dict[tuple[str, str], str]:
    for path in sorted((REPO / "tests" / "integration").glob("test_sam_*_events.py")):
        importlib.import_module(f"tests.integration.{path.stem}")
    return invocations()


def test_every_function_has_an_event_and_a_test_that_invokes_it(
    invoked: dict[tuple[str, str], str],
) -> None:
    covered = {function for function, _ in invoked}
    assert set(template_functions()) - covered == set()
    assert covered - set(template_functions()) == set()


def test_every_event_is_invoked_by_a_test(invoked: dict[tuple[str, str], str]) -> None:
    used = {event for _, event in invoked}
    assert event_names() - used == set()
    assert used - event_names() == set()


def events_of(invoked: dict[tuple[str, str], str]) -> Iterator[tuple[str, dict[str, object]]]:
    for function, name in sorted(invoked):
        raw = (REPO / "tests" / "events" / f"{name}.json").read_text(encoding="utf-8")
        yield function, json.loads(raw)


def test_function_url_events_are_payload_format_2(invoked: dict[tuple[str, str], str]) -> None:
    template = template_functions()
    for function, event in events_of(invoked):
        if not template[function].function_url:
            continue
        assert template[function].event_types == ()
        assert event["version"] == "2.0"
        context = event["requestContext"]
        assert isinstance(context, dict)
        assert context["http"]["path"] == event["rawPath"]
        assert event["headers"]["authorization"] == "Bearer {{token}}"  # type: ignore[index]


def test_schedule_events_are_their_schedules_input_with_a_time(
    invoked: dict[tuple[str, str], str],
) -> None:
    template = template_functions()
    for function, event in events_of(invoked):
        inputs = template[function].schedule_inputs
        if not inputs:
            continue
        scheduled = event["scheduled_time"]
        assert isinstance(scheduled, str)
        assert scheduled.endswith(":00Z")
        filled = [json.loads(raw.replace(SCHEDULED_TIME, scheduled)) for raw in inputs]
        assert event in filled, (function, event, inputs)


def test_sns_events_are_notifications_of_the_alerts_topic(
    invoked: dict[tuple[str, str], str],
) -> None:
    template = template_functions()
    for function, event in events_of(invoked):
        if "SNS" not in template[function].event_types:
            continue
        [record] = event["Records"]  # type: ignore[misc]
        assert record["EventSource"] == "aws:sns"
        assert record["Sns"]["Type"] == "Notification"
        assert ":parley-AlertsTopic-" in record["Sns"]["TopicArn"]


def test_env_json_has_an_entry_for_every_function() -> None:
    assert set(env_file()) == set(template_functions())


def test_env_json_points_every_function_at_one_local_dynamodb_and_its_tables() -> None:
    # The tables `parley dev` creates on the endpoint it is given (the settings' defaults).
    tables = table_variables(Settings(env="development"))
    endpoints = set()
    for function, variables in env_file().items():
        assert variables["PARLEY_ENV"] == "development", function
        assert {name: variables.get(name) for name in tables} == tables, function
        endpoints.add(variables["AWS_ENDPOINT_URL_DYNAMODB"])
    assert endpoints == {"http://dynamodb-local:8000"}


def test_env_json_replaces_every_resource_reference_of_the_template() -> None:
    """SAM resolves ``!Ref ConversationsTable`` to the logical id: no such table (or topic)
    exists locally."""
    resources = set(load_template(TEMPLATE)["Resources"])
    for function in template_functions().values():
        references = {
            name
            for name, value in function.variables.items()
            if isinstance(value, dict) and value.get("Ref") in resources
        }
        resolved = sam_environment(function)
        assert {name: resolved[name] for name in references} == {
            name: env_file()[function.logical_id][name] for name in references
        }


def test_an_event_file_is_filled_in_for_sam_local(capsys: pytest.CaptureFixture[str]) -> None:
    assert event_file(["preferences_get_function_url", "token=abc.def"]) == 0
    filled = json.loads(capsys.readouterr().out)
    assert filled["headers"]["authorization"] == "Bearer abc.def"
    assert event_file(["preferences_put_function_url", "token=abc.def"]) == 2  # if_match left
    assert "if_match" not in capsys.readouterr().out
