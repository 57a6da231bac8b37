"""Checking what a model produced, where the request said what shape it must have, before it
reaches the client: a structured answer (``response_format``) must be one JSON object that
follows its schema; a tool call must name one of the tools offered (the one ``tool_choice``
named, when it named one) with arguments that are a JSON object; and an answer must make a
call when the request's ``tool_choice`` requires one, and none when it forbids them.

A model that breaks either has failed that attempt (``OutputRejected``, counted against the
model like a broken stream): failover tries the next model rather than hand the client
something its parser will throw on. Schemas are JSON Schema as OpenAI takes them, checked
with ``jsonschema`` in the draft the schema names (2020-12 when it names none).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from jsonschema import exceptions as schema_errors
from jsonschema import validators

from parley.providers.errors import ProviderStreamError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jsonschema.protocols import Validator

    from parley.providers.base import GenerationRequest, ToolCall
    from parley.providers.catalog import ModelSpec

__all__ = ["OutputCheck", "OutputRejected", "schema_problem"]

# A model asked for JSON by prompt alone sometimes fences it as Markdown: the JSON inside is
# the answer (and what the client is given).
_FENCED = re.compile(r"^```(?:json)?\s*\n(?P<body>.*)\n```$", re.S | re.I)


class OutputRejected(ProviderStreamError):
    """The model's answer is not the shape the request asked for."""

    code = "invalid_model_output"
    default_message = "The model's answer did not have the shape the request asked for."


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a JSON schema (the first problem found), or None."""
    if not isinstance(schema, dict):
        return "a JSON schema is an object"
    try:
        validators.validator_for(schema).check_schema(schema)
    except schema_errors.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        return f"not a valid JSON schema{f' at /{where}' if where else ''}: {exc.message}"
    return None


class OutputCheck:
    """The checks one request's answers must pass; built once per request."""

    def __init__(self, request: GenerationRequest) -> None:
        schema = request.response_schema
        self._validator: Validator | None = None
        if schema is not None:
            self._validator = validators.validator_for(schema.schema)(schema.schema)
        self._json = schema is not None or request.json_object
        self._offered = {tool.name for tool in request.tools}
        choice = request.tool_choice
        self._must_call = choice is not None and choice.mode in ("required", "function")
        self._named = choice.name if choice is not None and choice.mode == "function" else None
        self._forbids_calls = choice is not None and choice.mode == "none"

    @property
    def holds_text(self) -> bool:
        """Whether an answer's text waits until the answer is checked whole: a structured
        answer, and the text of one that must call a tool (a model that answers in words
        instead has failed, and the next one's answer must not follow its words)."""
        return self._json or self._must_call

    def checked_text(self, text: str, spec: ModelSpec) -> str:
        """The answer as the client gets it (a fenced one without its fence), or
        OutputRejected when it is not one JSON object that follows the schema."""
        if not self._json:
            return text
        stripped = text.strip()
        fenced = _FENCED.match(stripped)
        if fenced is not None:
            stripped = fenced["body"].strip()
        try:
            value = json.loads(stripped)
        except ValueError:
            raise self._rejected(spec, "is not JSON") from None
        if not isinstance(value, dict):
            raise self._rejected(spec, "is not a JSON object")
        if self._validator is not None:
            error = schema_errors.best_match(self._validator.iter_errors(value))
            if error is not None:
                where = "/".join(str(part) for part in error.absolute_path)
                raise self._rejected(
                    spec, f"does not follow the schema at /{where}: {error.message}"
                )
        return stripped if fenced is not None else text

    def check_calls(self, calls: Sequence[ToolCall], spec: ModelSpec) -> None:
        """The calls of a complete answer: each one the client can make, and at least one
        when the request's ``tool_choice`` required it."""
        if self._must_call and not calls:
            raise self._rejected(spec, "called no tool, which the request's tool_choice requires")
        if self._forbids_calls and calls:
            raise self._rejected(spec, "called a tool, which the request's tool_choice forbids")
        for call in calls:
            self.check_call(call, spec)

    def check_call(self, call: ToolCall, spec: ModelSpec) -> None:
        """A tool call the client can make: a function it offered (the one it named, when it
        named one), and arguments that are a JSON object."""
        if not call.name:
            raise self._rejected(spec, "called a tool without naming it")
        if self._named is not None and call.name != self._named:
            raise self._rejected(spec, f"called {call.name}, not {self._named} as required")
        if self._offered and call.name not in self._offered:
            raise self._rejected(spec, f"called {call.name}, which is not one of the tools")
        try:
            arguments = json.loads(call.arguments)
        except ValueError:
            raise self._rejected(
                spec, f"called {call.name} with arguments that are not JSON"
            ) from None
        if not isinstance(arguments, dict):
            raise self._rejected(spec, f"called {call.name} with arguments that are no object")

    @staticmethod
    def _rejected(spec: ModelSpec, problem: str) -> OutputRejected:
        return OutputRejected(
            f"{spec.name}'s answer {problem}.", provider=spec.provider, model=spec.name
        )
