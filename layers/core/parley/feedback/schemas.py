"""Request bodies of the feedback and corrections API. Unknown fields are refused (422), and
values are strict: ``"5"`` is not a rating and ``1`` is not ``true``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from parley.ids import ID_PATTERN

__all__ = [
    "TAG_PATTERN",
    "ApprovalRequest",
    "CorrectionRequest",
    "FeedbackRequest",
    "Signals",
]

TAG_PATTERN = r"^[a-z0-9_-]{1,40}$"
Tag = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]
# A day of seconds: a longer "time to respond" is no longer a reaction to the reply.
MAX_RESPONSE_SECONDS = 86_400


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Signals(_Body):
    """What the client observed after the reply, each optional."""

    continued: bool | None = Field(default=None, description="The user went on in the chat.")
    action_completed: bool | None = Field(
        default=None, description="The user completed the action the reply was for."
    )
    asked_for_human: bool | None = Field(default=None, description="The user asked for a human.")
    response_seconds: float | None = Field(
        default=None,
        ge=0,
        le=MAX_RESPONSE_SECONDS,
        description="Seconds the user took to react to the reply.",
    )

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class FeedbackRequest(_Body):
    message_id: str = Field(pattern=ID_PATTERN, description="The assistant reply rated.")
    conversation_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="The reply's conversation: lets the reply be read at once, consistently.",
    )
    thumbs: Literal[1, -1] | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    reasons: list[Tag] | None = Field(default=None, max_length=10)
    comment: str | None = Field(default=None, max_length=2000)
    signals: Signals | None = None

    @field_validator("thumbs", mode="before")
    @classmethod
    def _thumbs_is_a_number(cls, value: object) -> object:
        # Literal[1] admits True (True == 1); a thumb is a number.
        if isinstance(value, bool):
            raise ValueError("thumbs is 1 or -1")
        return value

    @model_validator(mode="after")
    def _says_something(self) -> FeedbackRequest:
        signals = self.signals.given() if self.signals else {}
        if (
            self.thumbs is None
            and self.rating is None
            and not self.reasons
            and not (self.comment and self.comment.strip())
            and not signals
        ):
            raise ValueError("give at least one of thumbs, rating, reasons, comment or signals")
        return self

    def submission(self) -> dict[str, Any]:
        """The canonical submission: what a retry must repeat to be the same one."""
        return self.model_dump(mode="json", exclude_none=True)


class CorrectionRequest(_Body):
    prompt: str = Field(min_length=1, max_length=32_000, description="The user's message.")
    original_reply: str = Field(min_length=1, max_length=32_000, description="The bot's reply.")
    corrected_reply: str = Field(
        min_length=1, max_length=32_000, description="What the bot should have said."
    )
    reason: str = Field(min_length=1, max_length=2000)
    category: Tag
    message_id: str | None = Field(default=None, pattern=ID_PATTERN)
    conversation_id: str | None = Field(default=None, pattern=ID_PATTERN)

    @field_validator("prompt", "corrected_reply")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class ApprovalRequest(_Body):
    quality: int = Field(ge=0, le=5, description="0 (unusable) to 5 (exemplary).")
