"""The body of ``POST /v1/chat/stream``. Unknown fields are refused (422), so a client's typo
is an error instead of a silently ignored option."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from parley.bounds import SafeFloat, SafeInt

__all__ = ["ID_PATTERN", "Attachment", "ChatStreamRequest"]

ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # parley.ids: 26 Crockford base32 characters

# ``choices`` are stored with the message and read back by the learning job: keyed like a
# panel's fields, and bounded so that no form can make a message too large to store (a
# DynamoDB item holds 400 KB) or a number no store can hold.
ChoiceKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,60}$")]
ChoiceText = Annotated[str, StringConstraints(max_length=1000)]
ChoiceValue = (
    bool
    | SafeInt
    | SafeFloat
    | ChoiceText
    | Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=50)]
)


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    content_type: str = Field(default="text/plain", max_length=100)
    # Text content goes to the model after the message; other kinds are recorded by name/URL.
    text: str | None = Field(default=None, max_length=100_000)
    url: HttpUrl | None = None


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
