"""The training-data export against DynamoDB (moto server): what goes in (approved
corrections, exchanges rated 5) and what does not (pending corrections, lower ratings,
other orgs), validated against OpenAI's and Gemini's formats, over HTTP and from the CLI."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from parley.apps.feedback import create_feedback_app
from parley.auth import Identity
from parley.ids import new_id
from parley.state.conversations import ConversationRepository
from tests.support.asgi import bearer, client_for
from tests.support.fine_tuning import validate_gemini_line, validate_openai_line

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from tests.support.cli import CliRun

pytestmark = pytest.mark.anyio

ORG = "acme"
ALICE = Identity(user_id="alice", org_id=ORG)
MALLORY = Identity(user_id="mallory", org_id="other-org")
REVIEWER = bearer("rita", org_id=ORG, scopes="users:manage")
OUTSIDE_REVIEWER = bearer("mallory", org_id="other-org", scopes="users:manage")


@pytest.fixture
async def http(settings: Settings, dynamodb: DynamoDBClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_feedback_app(settings, client=dynamodb)) as client:
        yield client


async def rate(
    http: httpx.AsyncClient,
    settings: Settings,
    dynamodb: DynamoDBClient,
    owner: Identity,
    prompt: str,
    reply: str,
    rating: int,
) -> None:
    """A chat exchange as the pipeline stores it, then its owner rates the reply."""
    conversations = ConversationRepository(settings.conversations_table, client=dynamodb)
    conversation_id = new_id()
    conversations.add_message(
        owner, conversation_id, role="user", content=prompt, new_conversation_title=prompt
    )
    answer = conversations.add_message(owner, conversation_id, role="assistant", content=reply)
    response = await http.post(
        "/v1/feedback",
        headers=bearer(owner.user_id, org_id=owner.org_id),
        json={"message_id": answer.id, "rating": rating},
    )
    assert response.status_code == 201, response.text


async def correct(
    http: httpx.AsyncClient,
    prompt: str,
    corrected: str,
    *,
    quality: int | None,
    token: dict[str, str] = REVIEWER,
    category: str = "policy",
) -> str:
    created = await http.post(
        "/v1/corrections",
        headers=token,
        json={
            "prompt": prompt,
            "original_reply": "Something wrong.",
            "corrected_reply": corrected,
            "reason": "accuracy",
            "category": category,
        },
    )
    assert created.status_code == 201, created.text
    correction_id: str = created.json()["correction_id"]
    if quality is not None:
        approved = await http.post(
            f"/v1/corrections/{correction_id}/approve", headers=token, json={"quality": quality}
        )
        assert approved.status_code == 200, approved.text
    return correction_id


@pytest.fixture
async def seeded(http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient) -> None:
    await correct(http, "What is the refund window?", "Thirty days from purchase.", quality=4)
    await correct(http, "Do you ship abroad?", "PENDING-ONLY", quality=None)
    await correct(http, "Is there a phone line?", "LOW-QUALITY", quality=2, category="tone")
    await rate(http, settings, dynamodb, ALICE, "Name a lighthouse", "Fastnet Rock.", 5)
    await rate(http, settings, dynamodb, ALICE, "Name a river", "FOUR-STARS", 4)
    await correct(
        http, "Other org?", "OTHER-ORG", quality=5, token=OUTSIDE_REVIEWER, category="secret"
    )
    await rate(http, settings, dynamodb, MALLORY, "Other org rated", "OTHER-ORG", 5)


async def all_lines(http: httpx.AsyncClient, format_name: str, **params: str) -> list[str]:
    lines: list[str] = []
    for split in ("train", "validation"):
        response = await http.get(
            "/v1/training-data",
            headers=REVIEWER,
            params={"format": format_name, "split": split, **params},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines.extend(line + "\n" for line in response.text.splitlines())
    return lines


@pytest.mark.usefixtures("seeded")
async def test_approved_corrections_and_5_rated_exchanges_make_valid_files(
    http: httpx.AsyncClient,
) -> None:
    openai_lines = [validate_openai_line(line) for line in await all_lines(http, "openai")]
    pairs = {(m["messages"][0]["content"], m["messages"][1]["content"]) for m in openai_lines}
    assert pairs == {
        ("What is the refund window?", "Thirty days from purchase."),
        ("Name a lighthouse", "Fastnet Rock."),
    }
    gemini_lines = [validate_gemini_line(line) for line in await all_lines(http, "gemini")]
    texts = {
        (line["contents"][0]["parts"][0]["text"], line["contents"][1]["parts"][0]["text"])
        for line in gemini_lines
    }
    assert texts == pairs
    everything = json.dumps(openai_lines + gemini_lines)
    for excluded in ("PENDING-ONLY", "LOW-QUALITY", "FOUR-STARS", "OTHER-ORG"):
        assert excluded not in everything

    # A lower threshold lets the quality-2 correction in; a system prompt leads every line.
    lowered = await all_lines(http, "openai", min_quality="2", system_prompt="Be Acme.")
    assert len(lowered) == 3
    for line in lowered:
        assert validate_openai_line(line)["messages"][0] == {
            "role": "system",
            "content": "Be Acme.",
        }


@pytest.mark.usefixtures("seeded")
async def test_the_summary_counts_sources_splits_categories_and_skips(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/v1/training-data/summary", headers=REVIEWER)
    assert response.status_code == 200
    summary = response.json()
    assert summary["org_id"] == ORG
    assert summary["examples"] == 2
    assert summary["by_source"] == {"corrections": 1, "rated": 1}
    assert sum(summary["by_split"].values()) == 2
    assert summary["by_category"] == {"policy": 1, "rated": 1}
    assert summary["skipped"] == {"below_min_quality": 1, "duplicate": 0, "empty_text": 0}

    outside = (await http.get("/v1/training-data/summary", headers=OUTSIDE_REVIEWER)).json()
    assert outside["examples"] == 2
    assert outside["by_category"] == {"rated": 1, "secret": 1}


async def test_training_data_needs_users_manage(http: httpx.AsyncClient) -> None:
    analyst = bearer("carol", org_id=ORG, scopes="analytics:view")
    for path in ("/v1/training-data", "/v1/training-data/summary"):
        assert (await http.get(path, headers=analyst)).status_code == 403
        assert (await http.get(path)).status_code == 401
    bad = await http.get("/v1/training-data", headers=REVIEWER, params={"format": "csv"})
    assert bad.status_code == 422


async def test_the_same_data_gives_the_same_files(
    http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    for index in range(12):
        await correct(http, f"Question {index}?", f"Answer {index}.", quality=3)
    first = await all_lines(http, "openai")
    assert first == await all_lines(http, "openai")
    assert len(first) == 12
    summary = (await http.get("/v1/training-data/summary", headers=REVIEWER)).json()
    assert summary["by_split"]["train"] + summary["by_split"]["validation"] == 12


async def test_a_reply_rated_5_twice_is_one_example(
    http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    conversations = ConversationRepository(settings.conversations_table, client=dynamodb)
    conversation_id = new_id()
    conversations.add_message(
        ALICE, conversation_id, role="user", content="Hi", new_conversation_title="Hi"
    )
    answer = conversations.add_message(ALICE, conversation_id, role="assistant", content="Hello!")
    token = bearer("alice", org_id=ORG)
    for comment in ("great", "still great"):
        response = await http.post(
            "/v1/feedback",
            headers=token,
            json={"message_id": answer.id, "rating": 5, "comment": comment},
        )
        assert response.status_code == 201
    summary = (await http.get("/v1/training-data/summary", headers=REVIEWER)).json()
    assert summary["by_source"]["rated"] == 1
    assert summary["skipped"]["duplicate"] == 1


@pytest.mark.usefixtures("seeded")
async def test_the_cli_writes_both_formats_and_prints_the_summary(
    cli: CliRun, tmp_path: Path
) -> None:
    code, summary, _ = cli("export", "training-data", "--org", ORG, "--out", str(tmp_path))
    assert code == 0
    assert summary["examples"] == 2
    assert summary["by_source"] == {"corrections": 1, "rated": 1}
    expected = [
        str(tmp_path / format_name / f"{split}.jsonl")
        for format_name in ("openai", "gemini")
        for split in ("train", "validation")
    ]
    assert summary["files"] == expected

    def lines(format_name: str) -> list[str]:
        folder = tmp_path / format_name
        text = (folder / "train.jsonl").read_text() + (folder / "validation.jsonl").read_text()
        return text.splitlines(keepends=True)

    openai_lines = [validate_openai_line(line) for line in lines("openai")]
    gemini_lines = [validate_gemini_line(line) for line in lines("gemini")]
    assert len(openai_lines) == len(gemini_lines) == 2
    assert {m["messages"][-1]["content"] for m in openai_lines} == {
        "Thirty days from purchase.",
        "Fastnet Rock.",
    }
    for split in ("train", "validation"):
        written = (tmp_path / "openai" / f"{split}.jsonl").read_text().splitlines()
        assert len(written) == summary["by_split"][split]

    code, again, _ = cli(
        "export",
        "training-data",
        "--org",
        ORG,
        "--out",
        str(tmp_path / "g"),
        "--format",
        "gemini",
        "--min-quality",
        "2",
    )
    assert code == 0
    assert again["examples"] == 3
    assert [path.rsplit("/", 2)[-2] for path in again["files"]] == ["gemini", "gemini"]


def test_the_cli_refuses_a_bad_quality(cli: CliRun) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("export", "training-data", "--org", ORG, "--min-quality", "9")
    assert exited.value.code == 2
