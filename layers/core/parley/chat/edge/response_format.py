"""``response_format``, as OpenAI takes it, on both chat endpoints: ``text`` (the default),
``json_object`` (one JSON object) or ``json_schema`` (an object that follows a schema, which
must itself be a valid JSON schema: 422 otherwise, before anything is called)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from parley.providers.base import ResponseSchema
from parley.routing.output_check import schema_problem

__all__ = ["JsonSchemaFormat", "ResponseFormat", "structured"]


class TextFormat(BaseModel):
    type: Literal["text"]


class JsonObjectFormat(BaseModel):
    type: Literal["json_object"]


class JsonSchemaSpec(BaseModel):
    name: str = Field(default="response", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = Field(default=None, max_length=10_000)
    # ``schema`` is a BaseModel attribute, hence the alias.
    json_schema: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = schema_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class JsonSchemaFormat(BaseModel):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec

    def response_schema(self) -> ResponseSchema:
        spec = self.json_schema
        return ResponseSchema(
            name=spec.name,
            schema=spec.json_schema,
            strict=bool(spec.strict),
            description=spec.description,
        )


ResponseFormat = Annotated[
    TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")
]


def structured(response_format: Any) -> tuple[ResponseSchema | None, bool]:
    """(the schema the answer must follow, whether it must be a JSON object)."""
    if isinstance(response_format, JsonSchemaFormat):
        return response_format.response_schema(), True
    return None, isinstance(response_format, JsonObjectFormat)
