"""Corrections over ASGI against DynamoDB (moto server): scopes, the approval lifecycle, org
isolation and listing by status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from parley.apps.feedback import create_feedback_app
from parley.ids import new_id
from tests.support.asgi import bearer, client_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

pytestmark = pytest.mark.anyio

REVIEWER = bearer("rita", org_id="acme", scopes="users:manage")
ANALYST = bearer("carol", org_id="acme", scopes="analytics:view")
MEMBER = bearer("alice", org_id="acme")
OUTSIDE_REVIEWER = bearer("mallory", org_id="other-org", scopes="users:manage analytics:view")

CORRECTION = {
    "prompt": "What is your refund window?",
    "original_reply": "We do not offer refunds.",
    "corrected_reply": "You can get a full refund within 30 days of purchase.",
    "reason": "The policy changed in March.",
    "category": "policy",
}


@pytest.fixture
async def http(settings: Settings, dynamodb: DynamoDBClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_feedback_app(settings, client=dynamodb)) as client:
        yield client


async def create(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await http.post("/v1/corrections", headers=REVIEWER, json={**CORRECTION, **changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_correction_is_created_pending_and_approved_once(http: httpx.AsyncClient) -> None:
    created = await create(http, message_id=new_id())
    assert created["status"] == "pending"
    assert created["created_by"] == "rita"
    assert created["corrected_reply"] == CORRECTION["corrected_reply"]
    assert "pk" not in created
    assert "gsi1pk" not in created

    approved = await http.post(
        f"/v1/corrections/{created['correction_id']}/approve",
        headers=REVIEWER,
        json={"quality": 4},
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    assert body["quality"] == 4
    assert body["approved_by"] == "rita"
    assert body["approved_at"] >= created["created_at"]

    twice = await http.post(
        f"/v1/corrections/{created['correction_id']}/approve",
        headers=REVIEWER,
        json={"quality": 5},
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "conflict"


async def test_corrections_need_users_manage(http: httpx.AsyncClient) -> None:
    for token in (MEMBER, ANALYST):
        refused = await http.post("/v1/corrections", headers=token, json=CORRECTION)
        assert refused.status_code == 403
    created = await create(http)
    refused = await http.post(
        f"/v1/corrections/{created['correction_id']}/approve", headers=ANALYST, json={"quality": 3}
    )
    assert refused.status_code == 403
    assert (await http.post("/v1/corrections", json=CORRECTION)).status_code == 401
    # Listing is for analysts; a reviewer without analytics:view is refused.
    assert (await http.get("/v1/corrections", headers=REVIEWER)).status_code == 403
    assert (await http.get("/v1/corrections", headers=MEMBER)).status_code == 403


async def test_another_orgs_correction_is_not_found(http: httpx.AsyncClient) -> None:
    created = await create(http)
    response = await http.post(
        f"/v1/corrections/{created['correction_id']}/approve",
        headers=OUTSIDE_REVIEWER,
        json={"quality": 5},
    )
    assert response.status_code == 404
    listed = await http.get(
        "/v1/corrections", headers=OUTSIDE_REVIEWER, params={"status": "pending"}
    )
    assert listed.json()["items"] == []
    # Still pending in its own org.
    pending = await http.get("/v1/corrections", headers=ANALYST, params={"status": "pending"})
    assert [item["correction_id"] for item in pending.json()["items"]] == [created["correction_id"]]


async def test_a_missing_correction_is_404_and_a_bad_id_422(http: httpx.AsyncClient) -> None:
    missing = await http.post(
        f"/v1/corrections/{new_id()}/approve", headers=REVIEWER, json={"quality": 3}
    )
    assert missing.status_code == 404
    bad = await http.post(
        "/v1/corrections/not-an-id/approve", headers=REVIEWER, json={"quality": 3}
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {key: value for key, value in CORRECTION.items() if key != "corrected_reply"},
        {**CORRECTION, "category": "Not A Category"},
        {**CORRECTION, "corrected_reply": "   "},
        {**CORRECTION, "status": "approved"},
        {**CORRECTION, "message_id": "nope"},
    ],
)
async def test_invalid_corrections_are_422(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await http.post("/v1/corrections", headers=REVIEWER, json=body)
    assert response.status_code == 422
    listed = await http.get("/v1/corrections", headers=ANALYST, params={"status": "pending"})
    assert listed.json()["items"] == []


@pytest.mark.parametrize("quality", [-1, 6, 2.5, "5", None])
async def test_quality_is_an_integer_from_0_to_5(http: httpx.AsyncClient, quality: object) -> None:
    created = await create(http)
    response = await http.post(
        f"/v1/corrections/{created['correction_id']}/approve",
        headers=REVIEWER,
        json={"quality": quality},
    )
    assert response.status_code == 422


async def test_listing_by_status_is_newest_first_and_paged(http: httpx.AsyncClient) -> None:
    first = await create(http, category="billing")
    second = await create(http, category="tone")
    third = await create(http, category="policy")
    await http.post(
        f"/v1/corrections/{second['correction_id']}/approve", headers=REVIEWER, json={"quality": 5}
    )
    approved = await http.get("/v1/corrections", headers=ANALYST, params={"status": "approved"})
    assert approved.status_code == 200
    assert [item["correction_id"] for item in approved.json()["items"]] == [second["correction_id"]]
    page = await http.get("/v1/corrections", headers=ANALYST, params={"limit": "1"})
    assert page.json()["status"] == "pending"
    assert [item["correction_id"] for item in page.json()["items"]] == [third["correction_id"]]
    rest = await http.get(
        "/v1/corrections",
        headers=ANALYST,
        params={"limit": "1", "cursor": page.json()["next_cursor"]},
    )
    assert [item["correction_id"] for item in rest.json()["items"]] == [first["correction_id"]]
    # A pending cursor cannot page the approved list.
    crossed = await http.get(
        "/v1/corrections",
        headers=ANALYST,
        params={"status": "approved", "cursor": page.json()["next_cursor"]},
    )
    assert crossed.status_code == 400
    assert (
        await http.get("/v1/corrections", headers=ANALYST, params={"status": "rejected"})
    ).status_code == 422
