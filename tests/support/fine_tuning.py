"""Validators of the two fine-tuning formats Parley exports, against each SDK's own types and
each format's rules: used by the unit, integration and end-to-end tests alike."""

from __future__ import annotations

import itertools
import json
from typing import Any

__all__ = ["validate_gemini_line", "validate_openai_line"]

FINE_TUNING_ROLES = {"system", "user", "assistant"}


def validate_openai_line(text: str) -> dict[str, Any]:
    """One line of an OpenAI chat fine-tuning file: every message a valid
    ChatCompletionMessageParam, roles system/user/assistant only, system first if at all,
    string content that is not empty, at least one assistant message, the last one."""
    from openai.types.chat import ChatCompletionMessageParam
    from pydantic import TypeAdapter

    assert text.endswith("\n")
    assert "\n" not in text[:-1]
    line = json.loads(text)
    assert set(line) == {"messages"}
    adapter: TypeAdapter[Any] = TypeAdapter(ChatCompletionMessageParam)
    messages = line["messages"]
    for position, message in enumerate(messages):
        adapter.validate_python(message)
        assert set(message) == {"role", "content"}
        assert message["role"] in FINE_TUNING_ROLES
        assert message["role"] != "system" or position == 0
        assert isinstance(message["content"], str)
        assert message["content"].strip()
    assert any(message["role"] == "assistant" for message in messages)
    assert messages[-1]["role"] == "assistant"
    return dict(line)


def validate_gemini_line(text: str) -> dict[str, Any]:
    """One line of a Vertex AI (Gemini) supervised tuning file: ``contents`` are
    google.genai Content objects alternating user and model and ending with model, each with
    non-empty text parts; an optional ``systemInstruction`` is a Content too."""
    from google.genai import types

    assert text.endswith("\n")
    line = json.loads(text)
    assert set(line) <= {"systemInstruction", "contents"}
    if "systemInstruction" in line:
        instruction = types.Content.model_validate(line["systemInstruction"])
        assert instruction.parts
        assert all(part.text for part in instruction.parts)
    contents = [types.Content.model_validate(content) for content in line["contents"]]
    roles = [content.role for content in contents]
    assert roles[0] == "user"
    assert roles[-1] == "model"
    assert all(a != b for a, b in itertools.pairwise(roles))
    for content in contents:
        assert content.parts
        assert all(part.text and part.text.strip() for part in content.parts)
    return dict(line)
