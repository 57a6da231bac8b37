"""Issue 14's "done when", on `parley dev` as its text tries it: users of one org chat with the
`pictures` panel (`POST /v1/chat/stream` with `panel` and `choices`), rate replies
(`POST /v1/feedback`), `parley jobs run learn-preferences` runs, and `GET /v1/preferences`
answers: anime after a drift, anime for a plurality, anime over a disliked watercolor, and three
liked messages no surer than three unrated ones; and the playground showing a learned default
with how sure Parley is and from how many messages, in a real browser."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.asgi import bearer
from tests.support.browser import Watched
from tests.support.chat import stream_chat
from tests.support.devserver import DevServer, run_job

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Browser

ORG = "examples-org"
STYLE = "pictures.defaultStyle"
Turn = tuple[str, int | None]  # a style chosen, and the thumbs given its reply (None: no rating)


def turns(*styles: str, thumbs: int | None = None) -> list[Turn]:
    return [(style, thumbs) for style in styles]


# Each user's turns, oldest first.
HISTORIES: dict[str, list[Turn]] = {
    "drifted": turns(*["watercolor"] * 15, *["anime"] * 10),
    "plurality": turns(
        "anime", "oil", "pencil", "anime", "ink", "oil", "anime", "pencil", "ink", "anime"
    ),
    "disliked": turns(*["watercolor"] * 6, thumbs=-1) + turns(*["anime"] * 4),
    "liked": turns(*["anime"] * 3, thumbs=1),
    "unrated": turns(*["anime"] * 3),
}


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    # The offline model answers without its pause between words: 51 chats, not a demo.
    started = DevServer(PARLEY_LOCAL_TOKEN_DELAY_SECONDS="0")
    yield started
    assert started.stop() == 0


@pytest.fixture(scope="module")
def learned(server: DevServer) -> dict[str, dict[str, Any]]:
    """Every user's history sent, the job run once; each user's explained preferences."""
    api = httpx.Client(base_url=server.url, timeout=30)
    # The 25 messages of one user come faster than the default 20 a minute.
    unlimited = api.patch(
        "/v1/org/settings",
        headers=bearer("admin", org_id=ORG, scopes="org:manage"),
        json={"rate_limits": {"user_per_minute": 0}},
    )
    assert unlimited.status_code == 200, unlimited.text
    for user, history in HISTORIES.items():
        send_history(server, api, user, history)
    result = run_job(server, "learn-preferences")
    assert result["processed"] == len(HISTORIES)
    documents = {}
    for user in HISTORIES:
        answer = api.get(
            "/v1/preferences", headers=bearer(user, org_id=ORG), params={"explain": "true"}
        )
        assert answer.status_code == 200, answer.text
        documents[user] = answer.json()
    return documents


def send_history(server: DevServer, api: httpx.Client, user: str, history: list[Turn]) -> None:
    conversation: str | None = None
    for style, thumbs in history:
        body: dict[str, Any] = {
            "message": "A picture of a lighthouse, please",
            "panel": "pictures",
            "choices": {"defaultStyle": style},
        }
        if conversation:
            body["conversation_id"] = conversation
        streamed = asyncio.run(stream_chat(server.url, body, user=user, org=ORG))
        assert streamed.status == 200, streamed.body
        assert streamed.types[-1] == "done"
        conversation = streamed.of("meta")[0]["conversation_id"]
        if thumbs is not None:
            message_id = streamed.of("done")[0]["message_id"]
            rated = api.post(
                "/v1/feedback",
                headers=bearer(user, org_id=ORG),
                json={"message_id": message_id, "thumbs": thumbs},
            )
            assert rated.status_code == 201, rated.text


def learned_style(document: dict[str, Any]) -> tuple[str, float, int]:
    details = document["learned_details"][STYLE]
    assert document["sources"][STYLE] == "learned"
    assert document["preferences"]["pictures"]["defaultStyle"] == details["value"]
    assert document["learned"][STYLE] == details["confidence"]
    return details["value"], details["confidence"], details["messages"]


@pytest.mark.parametrize(
    ("user", "messages"), [("drifted", 25), ("plurality", 10), ("disliked", 10)]
)
def test_anime_is_learned(learned: dict[str, dict[str, Any]], user: str, messages: int) -> None:
    value, confidence, behind = learned_style(learned[user])
    assert value == "anime"
    assert behind == messages
    assert 0.5 < confidence <= 0.95


def test_the_plurality_is_explained_with_anime_ahead(learned: dict[str, dict[str, Any]]) -> None:
    support = learned["plurality"]["explanations"][STYLE]["support"]
    weights = [entry["weight"] for entry in support]
    assert support[0]["value"] == "anime"
    assert weights == sorted(weights, reverse=True)
    assert weights[0] > weights[1]


def test_a_disliked_style_is_not_supported(learned: dict[str, dict[str, Any]]) -> None:
    support = {
        entry["value"]: entry["weight"]
        for entry in learned["disliked"]["explanations"][STYLE]["support"]
    }
    assert support.get("watercolor", 0.0) <= 0.0 < support["anime"]


def test_three_liked_messages_are_no_surer_than_three_unrated(
    learned: dict[str, dict[str, Any]],
) -> None:
    _, liked, liked_messages = learned_style(learned["liked"])
    _, unrated, unrated_messages = learned_style(learned["unrated"])
    assert liked_messages == unrated_messages == 3
    assert liked <= unrated <= (3 + 1) / (3 + 3)  # the evidence bound of three messages


def test_the_playground_says_how_sure_a_learned_default_is_and_from_what(
    server: DevServer, learned: dict[str, dict[str, Any]], browser: Browser, tmp_path: Path
) -> None:
    # The unrated user's next pictures message, sent from the playground in a real browser.
    watched = Watched(browser)
    page = watched.page
    page.goto(f"{server.url}/")
    token = bearer("unrated", org_id=ORG)["Authorization"].removeprefix("Bearer ")
    page.fill("#token", token)
    page.fill("#message", "Draw a picture of a fox in the snow")
    page.click("#send")
    page.wait_for_selector("#rate:not([hidden])")
    shown = page.text_content("#defaults") or ""
    page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)
    percent = round(learned["unrated"]["learned"][STYLE] * 100)
    assert f'defaultStyle "anime" (you usually choose it: {percent}% sure' in shown, shown
    assert "from 3 messages)" in shown, shown
    assert watched.problems == []
    watched.close()
