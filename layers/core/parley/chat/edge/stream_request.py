"""The body of ``POST /v1/chat/stream``. Unknown fields are refused (422), so a client's typo
is an error instead of a silently ignored option."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from parley.bounds import SafeFloat, SafeInt
from parley.chat.edge.response_format import ResponseFormat  # noqa: TC001 (pydantic reads it)
from parley.ids import ID_PATTERN

# A BCP 47 language tag as clients send them (es, es-MX, en_GB, zh-Hant-TW).
LOCALE_PATTERN = r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,3}$"

__all__ = ["LOCALE_PATTERN", "Attachment", "ChatStreamRequest"]

# ``choices`` are stored with the message and read back by the learning job: keyed like a
# panel's fields, and bounded so that no form can make a message too large to store (a
# DynamoDB item holds 400 KB) or a number no store can hold.
ChoiceKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,60}$")]
_CHOICE_TEXT = TypeAdapter(Annotated[str, StringConstraints(max_length=1000)])
_CHOICE_TEXTS = TypeAdapter(
    Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=50)]
)
_CHOICE_INT = TypeAdapter(SafeInt)
_CHOICE_FLOAT = TypeAdapter(SafeFloat)


def _choice_value(value: object) -> bool | int | float | str | list[str]:
    """One choice, checked by its JSON type, so that a refusal says what was wrong with it
    (a union would report the value against every type it is not)."""
    if isinstance(value, bool):
        return value
    adapter: TypeAdapter[Any] | None = None
    if isinstance(value, int):
        adapter = _CHOICE_INT
    elif isinstance(value, float):
        adapter = _CHOICE_FLOAT
    elif isinstance(value, str):
        adapter = _CHOICE_TEXT
    elif isinstance(value, list):
        adapter = _CHOICE_TEXTS
    if adapter is None:
        raise ValueError("a choice is a boolean, a number, a string or a list of strings")
    try:
        checked: bool | int | float | str | list[str] = adapter.validate_python(value)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = "".join(f"[{part}]" for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None
    return checked


ChoiceValue = Annotated[
    bool | int | float | str | list[str],
    PlainValidator(_choice_value, json_schema_input_type=bool | int | float | str | list[str]),
]


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    content_type: str = Field(default="text/plain", max_length=100)
    # Text content goes to the model after the message. An image (an image/* content type)
    # goes to the model as an image, from ``url`` (https) or ``data`` (base64); other kinds
    # are recorded by name and URL.
    text: str | None = Field(default=None, max_length=100_000)
    url: HttpUrl | None = None
    data: str | None = Field(default=None, description="An image's bytes, base64.")

    @property
    def is_image(self) -> bool:
        return self.content_type.lower().startswith("image/")

    @model_validator(mode="after")
    def _data_is_an_image(self) -> Attachment:
        if self.data is not None and not self.is_image:
            raise ValueError("data is for images: give an image/* content_type")
        if self.data is not None and self.url is not None:
            raise ValueError("an image comes from url or data, not both")
        if self.is_image and self.text is not None:
            raise ValueError("an image attachment has no text")
        return self


class ChatStreamRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="The user's message.")
    conversation_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="Continue this conversation; new if absent."
    )
    mode: Literal["auto", "cheap", "smart"] | None = Field(
        default=None, description="How to choose the model; the org's default mode if absent."
    )
    model: str | None = Field(default=None, max_length=100, description="A catalog model name.")
    panel: str | None = Field(default=None, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")
    choices: dict[ChoiceKey, ChoiceValue] | None = Field(
        default=None,
        max_length=50,
        description="The options the client's form used, keyed like the panel's fields.",
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=100_000)
    cache: bool = Field(
        default=False,
        description="Serve and store this answer in the response cache even if its "
        "temperature is not 0.",
    )
    locale: str | None = Field(
        default=None,
        pattern=LOCALE_PATTERN,
        description="The user's locale (BCP 47, e.g. es-MX): whose crisis lines a safe reply "
        "gives.",
    )
    response_format: ResponseFormat | None = Field(
        default=None,
        description="As OpenAI's: `json_object`, or `json_schema` with a schema the answer "
        "must follow (then `partial` events carry the object parsed so far).",
    )
