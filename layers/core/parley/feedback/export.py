"""The training-data export: approved corrections and highly rated exchanges of one org, as
fine-tuning files with a deterministic train/validation split and a summary of what went in.

Sources, read with Queries of the FeedbackTable's index only:

* approved corrections with ``quality >= min_quality`` (``DEFAULT_MIN_QUALITY``, 3: "usable
  as is" on the 0-5 scale): the user's message and the corrected reply;
* exchanges rated above 4 (i.e. 5): the user's message and the reply as given. A reply rated 5
  more than once is one example.

An example with an empty message or reply is skipped and counted. The files are built in
memory, which suits the volumes human review produces (thousands of examples); the ids sort
the lines, so the same data always gives byte-identical files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.feedback.formats import FORMATS, SPLITS, Example, jsonl, split_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.feedback.corrections import CorrectionRepository
    from parley.feedback.formats import Format, Split
    from parley.feedback.repository import FeedbackRepository

__all__ = [
    "DEFAULT_MIN_QUALITY",
    "TrainingSet",
    "build_training_set",
    "export_training_data",
    "write_training_files",
]

DEFAULT_MIN_QUALITY = 3


@dataclass
class TrainingSet:
    org_id: str
    min_quality: int
    system_prompt: str | None = None
    splits: dict[Split, list[Example]] = field(
        default_factory=lambda: {split: [] for split in SPLITS}
    )
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, example: Example) -> None:
        if not example.prompt.strip() or not example.reply.strip():
            self.skipped["empty_text"] += 1
            return
        self.splits[split_of(example.id)].append(example)

    def lines(self, format_name: Format, split: Split) -> Iterator[str]:
        build = FORMATS[format_name]
        for example in sorted(self.splits[split], key=lambda e: e.id):
            yield jsonl(build(example, self.system_prompt))

    def summary(self) -> dict[str, Any]:
        examples = [example for split in SPLITS for example in self.splits[split]]
        categories = Counter(example.category or "uncategorised" for example in examples)
        return {
            "org_id": self.org_id,
            "min_quality": self.min_quality,
            "examples": len(examples),
            "by_source": {
                "corrections": sum(1 for e in examples if e.source == "corrections"),
                "rated": sum(1 for e in examples if e.source == "rated"),
            },
            "by_split": {split: len(self.splits[split]) for split in SPLITS},
            "by_category": dict(sorted(categories.items())),
            "skipped": {
                reason: self.skipped[reason]
                for reason in ("below_min_quality", "duplicate", "empty_text")
            },
        }


def build_training_set(
    org_id: str,
    corrections: CorrectionRepository,
    feedback: FeedbackRepository,
    *,
    min_quality: int = DEFAULT_MIN_QUALITY,
    system_prompt: str | None = None,
) -> TrainingSet:
    training = TrainingSet(org_id=org_id, min_quality=min_quality, system_prompt=system_prompt)
    for correction in corrections.approved(org_id):
        if int(correction.get("quality", 0)) < min_quality:
            training.skipped["below_min_quality"] += 1
            continue
        training.add(
            Example(
                id=f"correction:{correction['correction_id']}",
                source="corrections",
                prompt=str(correction.get("prompt", "")),
                reply=str(correction.get("corrected_reply", "")),
                category=correction.get("category"),
            )
        )
    for example in _latest_per_reply(feedback.rated(org_id), training):
        training.add(example)
    return training


def _latest_per_reply(records: Iterable[dict[str, Any]], training: TrainingSet) -> list[Example]:
    """One example per reply: its latest 5-rated record (the index lists oldest first)."""
    latest: dict[str, Example] = {}
    for record in records:
        exchange = record.get("exchange") or {}
        message_id = str(record["message_id"])
        if message_id in latest:
            training.skipped["duplicate"] += 1
        latest[message_id] = Example(
            id=f"rated:{message_id}",
            source="rated",
            prompt=str(exchange.get("prompt", "")),
            reply=str(exchange.get("reply", "")),
            category="rated",
        )
    return list(latest.values())


def write_training_files(
    training: TrainingSet, out_dir: Path, formats: Iterable[Format]
) -> list[Path]:
    """``<out_dir>/<format>/train.jsonl`` and ``validation.jsonl`` per format; the paths."""
    written: list[Path] = []
    for format_name in formats:
        folder = out_dir / format_name
        folder.mkdir(parents=True, exist_ok=True)
        for split in SPLITS:
            path = folder / f"{split}.jsonl"
            with path.open("w", encoding="utf-8") as file:
                file.writelines(training.lines(format_name, split))
            written.append(path)
    return written


def export_training_data(
    settings: Settings,
    org_id: str,
    *,
    out_dir: Path,
    formats: Iterable[Format] = ("openai", "gemini"),
    min_quality: int = DEFAULT_MIN_QUALITY,
    system_prompt: str | None = None,
    client: DynamoDBClient | None = None,
) -> dict[str, Any]:
    """``parley export training-data``: write the files; the summary with their paths."""
    from parley.feedback.corrections import CorrectionRepository
    from parley.feedback.repository import FeedbackRepository

    training = build_training_set(
        org_id,
        CorrectionRepository(settings.feedback_table, client=client),
        FeedbackRepository(settings.feedback_table, settings.conversations_table, client=client),
        min_quality=min_quality,
        system_prompt=system_prompt,
    )
    files = write_training_files(training, out_dir, formats)
    return {**training.summary(), "files": [str(path) for path in files]}
