"""The issue's "done when", end to end on `parley dev` as a user runs it: preferences shown in the
chat's `meta`, feedback stored once per key, a style learned by `parley jobs run
learn-preferences` while an explicit value stays, an approved correction in a valid fine-tuning
file, and another user's token seeing none of it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.asgi import bearer
from tests.support.chat import Streamed, stream_chat
from tests.support.devserver import DevServer, running_dev_server
from tests.support.devserver import run_job as run_devserver_job
from tests.support.fine_tuning import validate_openai_line

if TYPE_CHECKING:
    from collections.abc import Iterator

ORG = "loop-org"
ALICE = bearer("alice", org_id=ORG)
ANALYST = bearer("ana", org_id=ORG, scopes="analytics:view")
ADMIN = bearer("root", org_id=ORG, scopes="users:manage analytics:view")
BOB = bearer("bob", org_id=ORG)
OTHER_ORG_ADMIN = bearer("root", org_id="elsewhere", scopes="users:manage analytics:view")


@pytest.fixture(scope="module")
def dev_server() -> Iterator[DevServer]:
    yield from running_dev_server()


def chat(server: DevServer, user: str, body: dict[str, Any]) -> Streamed:
    streamed = asyncio.run(stream_chat(server.url, body, user=user, org=ORG))
    assert streamed.status == 200, streamed.body
    assert streamed.types[0] == "meta"
    assert streamed.types[-1] == "done"
    return streamed


def run_job(server: DevServer) -> dict[str, Any]:
    return run_devserver_job(server, "learn-preferences")


def test_preferences_feedback_learning_and_corrections_work_together(
    dev_server: DevServer,
) -> None:
    api = httpx.Client(base_url=dev_server.url, timeout=30)

    # 1. Alice sets a preference explicitly and sees it in the next chat's meta.
    current = api.get("/v1/preferences", headers=ALICE)
    assert current.status_code == 200
    saved = api.put(
        "/v1/preferences",
        headers={**ALICE, "If-Match": current.headers["ETag"]},
        json={"preferences": {"pictures": {"defaultProvider": "ideogram"}}},
    )
    assert saved.status_code == 200, saved.text
    first = chat(dev_server, "alice", {"message": "Make me a picture of a lighthouse"})
    defaults = first.of("meta")[0]["smart_defaults"]
    assert defaults["panel"] == "pictures"
    assert defaults["values"]["defaultProvider"] == {"value": "ideogram", "source": "user"}

    # 2. She keeps choosing one style (and another provider than the one she set).
    replies = [first.of("done")[0]["message_id"]]
    conversation = first.of("meta")[0]["conversation_id"]
    for _ in range(5):
        turn = chat(
            dev_server,
            "alice",
            {
                "message": "Another picture, please",
                "conversation_id": conversation,
                "panel": "pictures",
                "choices": {"defaultStyle": "watercolor", "defaultProvider": "dalle"},
            },
        )
        replies.append(turn.of("done")[0]["message_id"])

    # 3. Feedback sent twice with one Idempotency-Key is stored once.
    thumbs = {"message_id": replies[-1], "thumbs": 1, "rating": 5}
    key = {"Idempotency-Key": "loop-feedback-1"}
    sent = [api.post("/v1/feedback", headers={**ALICE, **key}, json=thumbs) for _ in range(2)]
    assert [r.status_code for r in sent] == [201, 201], [r.text for r in sent]
    assert sent[0].json()["feedback_id"] == sent[1].json()["feedback_id"]
    listed = api.get("/v1/feedback", headers=ANALYST)
    assert listed.status_code == 200
    assert [item["message_id"] for item in listed.json()["items"]] == [replies[-1]]

    # 4. The job learns the style with a confidence; the explicit provider stays.
    result = run_job(dev_server)
    assert {"processed", "updated", "skipped", "duration_ms"} <= set(result)
    assert result["updated"] >= 1
    learned = api.get("/v1/preferences", headers=ALICE).json()
    assert learned["preferences"]["pictures"]["defaultStyle"] == "watercolor"
    assert 0.6 < learned["learned"]["pictures.defaultStyle"] <= 0.95
    assert learned["preferences"]["pictures"]["defaultProvider"] == "ideogram"
    assert "pictures.defaultProvider" not in learned["learned"]
    assert learned["version"] > saved.json()["version"]
    # A second run for the same hour returns the first one's result and writes nothing.
    assert run_job(dev_server) == result
    assert api.get("/v1/preferences", headers=ALICE).json()["version"] == learned["version"]

    # 5. An approved correction appears in a valid OpenAI fine-tuning file.
    correction = api.post(
        "/v1/corrections",
        headers=ADMIN,
        json={
            "prompt": "What is the refund window?",
            "original_reply": "There is none.",
            "corrected_reply": "You can ask for a refund within 30 days of purchase.",
            "reason": "The policy allows refunds.",
            "category": "policy",
        },
    )
    assert correction.status_code == 201, correction.text
    correction_id = correction.json()["correction_id"]
    approved = api.post(
        f"/v1/corrections/{correction_id}/approve", headers=ADMIN, json={"quality": 5}
    )
    assert approved.status_code == 200, approved.text
    exported = [
        validate_openai_line(line + "\n")
        for split in ("train", "validation")
        for line in api.get(
            "/v1/training-data", headers=ADMIN, params={"format": "openai", "split": split}
        ).text.splitlines()
        if line.strip()
    ]
    answers = [example["messages"][-1]["content"] for example in exported]
    assert "You can ask for a refund within 30 days of purchase." in answers

    # 6. Another user's token sees none of it.
    bobs = api.get("/v1/preferences", headers=BOB).json()
    assert bobs["version"] == 0
    assert bobs["learned"] == {}
    assert bobs["preferences"]["pictures"]["defaultStyle"] != "watercolor"
    assert bobs["preferences"]["pictures"]["defaultProvider"] != "ideogram"
    assert set(bobs["sources"].values()) <= {"default"}
    stolen = api.post("/v1/feedback", headers=BOB, json={"message_id": replies[0], "thumbs": -1})
    assert stolen.status_code == 404
    assert api.get("/v1/feedback", headers=BOB).status_code == 403
    assert api.get("/v1/feedback", headers=OTHER_ORG_ADMIN).json()["items"] == []
    elsewhere = api.get(
        "/v1/training-data", headers=OTHER_ORG_ADMIN, params={"format": "openai", "split": "train"}
    )
    assert elsewhere.status_code == 200
    assert elsewhere.text.strip() == ""
    api.close()
