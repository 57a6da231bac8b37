"""Training examples and the two fine-tuning formats they are written in, plus the split.

* OpenAI chat fine-tuning JSONL: one ``{"messages": [system?, user, assistant]}`` per line,
  each message ``{"role", "content"}`` (platform.openai.com/docs/guides/supervised-fine-tuning).
* Gemini (Vertex AI supervised tuning) JSONL: one ``{"systemInstruction"?, "contents"}`` per
  line, ``contents`` alternating ``user`` and ``model`` turns of ``{"role", "parts": [{"text"}]}``.

The split is a function of the example's id alone: the first 4 bytes of its SHA-256, modulo
100, below 80 is ``train``, else ``validation``. The same examples always give the same files,
and an example never moves between files as others are added.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "FORMATS",
    "SPLITS",
    "TRAIN_PERCENT",
    "Example",
    "Format",
    "Source",
    "Split",
    "formats_named",
    "gemini_line",
    "jsonl",
    "openai_line",
    "split_of",
]

Format = Literal["openai", "gemini"]
Split = Literal["train", "validation"]
Source = Literal["corrections", "rated"]
SPLITS: tuple[Split, ...] = ("train", "validation")
TRAIN_PERCENT = 80


@dataclass(frozen=True)
class Example:
    """One exchange to learn from: the user's message and the reply it should get."""

    id: str  # "correction:<correction id>" or "rated:<message id>": stable, unique
    source: Source
    prompt: str
    reply: str
    category: str | None = None


def split_of(example_id: str) -> Split:
    bucket = int.from_bytes(hashlib.sha256(example_id.encode()).digest()[:4], "big") % 100
    return "train" if bucket < TRAIN_PERCENT else "validation"


def openai_line(example: Example, system_prompt: str | None = None) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": example.prompt})
    messages.append({"role": "assistant", "content": example.reply})
    return {"messages": messages}


def gemini_line(example: Example, system_prompt: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {}
    if system_prompt:
        line["systemInstruction"] = {"role": "system", "parts": [{"text": system_prompt}]}
    line["contents"] = [
        {"role": "user", "parts": [{"text": example.prompt}]},
        {"role": "model", "parts": [{"text": example.reply}]},
    ]
    return line


FORMATS: dict[Format, Callable[[Example, str | None], dict[str, Any]]] = {
    "openai": openai_line,
    "gemini": gemini_line,
}


def jsonl(line: dict[str, Any]) -> str:
    """One line of a JSONL file, newline included; non-ASCII text kept as is (UTF-8)."""
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def formats_named(name: str) -> tuple[Format, ...]:
    """``openai``, ``gemini`` or ``both``."""
    if name == "both":
        return ("openai", "gemini")
    if name == "openai":
        return ("openai",)
    if name == "gemini":
        return ("gemini",)
    raise ValueError(f"unknown training-data format {name!r}")
