"""Org settings: the merge, the repository against DynamoDB (moto server, tables made from
template.yaml), the process cache, the HTTP API over ASGI and the operator's CLI."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import pytest

from parley.apps.orgs import org_parts
from parley.budget.api import router as budget_router
from parley.budget.collaborators import BudgetCollaborators
from parley.budget.ledger import AsyncLedger, Ledger
from parley.errors import (
    ConfigurationError,
    ParleyError,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
)
from parley.http import create_app
from parley.merge_patch import deep_merge
from parley.orgs import cache as cache_module
from parley.orgs.api import router as org_router
from parley.orgs.cache import OrgSettingsCache
from parley.orgs.repository import OrgSettingsRepository, StoredSettings
from parley.orgs.settings import OrgSettings
from parley.providers.catalog import load_catalog
from parley.state.items import from_item
from parley.state.versioned import VersionedTable
from tests.support.asgi import bearer, client_for
from tests.support.clients import ClientProxy, ItemReadsMeet
from tests.support.clock import FakeClock

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from fastapi import FastAPI
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from tests.support.cli import CliRun

ORG = "acme"
DEFAULTS = OrgSettings().model_dump(mode="json")
ADMIN = bearer("alice", org_id=ORG, scopes="org:manage")
MEMBER = bearer("bob", org_id=ORG)
OUTSIDER_ADMIN = bearer("mallory", org_id="other-org", scopes="org:manage")


@pytest.fixture
def repo(settings: Settings, dynamodb: DynamoDBClient) -> OrgSettingsRepository:
    return OrgSettingsRepository(settings.accounts_table, client=dynamodb, clock=lambda: 1.8e9)


@pytest.fixture
def raw_item(settings: Settings, dynamodb: DynamoDBClient) -> Callable[[str], dict[str, Any]]:
    """The settings item as stored, read around the repository."""

    def read(org_id: str) -> dict[str, Any]:
        found = dynamodb.get_item(
            TableName=settings.accounts_table,
            Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": "SETTINGS"}},
            ConsistentRead=True,
        ).get("Item")
        return from_item(dict(found)) if found else {}

    return read


class CompetingClient(ClientProxy):
    """A DynamoDB client that runs ``before_write`` once, after the first settings read and
    before the write that follows it: another writer getting in between."""

    def __init__(self, client: DynamoDBClient, before_write: Callable[[], object]) -> None:
        super().__init__(client)
        self._before_write: Callable[[], object] | None = before_write

    def get_item(self, **request: Any) -> Any:
        found = self._client.get_item(**request)
        if self._before_write is not None:
            compete, self._before_write = self._before_write, None
            compete()
        return found


# deep_merge --------------------------------------------------------------------------------


def test_merge_recurses_into_objects_and_replaces_everything_else() -> None:
    target = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    patch = {"a": {"c": [3]}, "e": True}
    assert deep_merge(target, patch) == {"a": {"b": 1, "c": [3]}, "d": "x", "e": True}
    assert target == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}  # the inputs are not changed


def test_merge_null_removes_and_never_stores_null() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}) == {"a": {"c": 2}}
    assert deep_merge({"a": {"b": 1}}, {"a": None}) == {}
    assert deep_merge({}, {"missing": None}) == {}
    # An object laid where there was none starts from {}, its nulls dropped (RFC 7396).
    assert deep_merge({"a": 5}, {"a": {"b": None, "c": 1}}) == {"a": {"c": 1}}


def test_merge_result_shares_nothing_with_its_inputs() -> None:
    patch = {"a": {"b": [1]}}
    merged = deep_merge({}, patch)
    merged["a"]["b"].append(2)
    assert patch == {"a": {"b": [1]}}


# Repository --------------------------------------------------------------------------------


def test_an_org_that_never_saved_settings_has_the_defaults_at_version_0(
    repo: OrgSettingsRepository,
) -> None:
    stored = repo.get(ORG)
    assert stored.settings == OrgSettings()
    assert stored.overrides == {}
    assert stored.version == 0
    assert stored.updated_by is None


def test_updates_deep_merge_onto_the_overrides_and_bump_the_version(
    repo: OrgSettingsRepository, raw_item: Callable[[str], dict[str, Any]]
) -> None:
    first = repo.update(
        ORG,
        {"tiers": {"light": {"models": ["gpt-4.1-mini"]}}},
        expected_version=0,
        updated_by="alice",
    )
    assert first.version == 1
    second = repo.update(
        ORG, {"tiers": {"heavy": {"max_tokens": 5000}}}, expected_version=1, updated_by="bob"
    )
    assert second.version == 2
    assert second.overrides == {
        "tiers": {"light": {"models": ["gpt-4.1-mini"]}, "heavy": {"max_tokens": 5000}}
    }
    tiers = repo.get(ORG).settings.tiers
    assert tiers.light.models == ("gpt-4.1-mini",)
    assert tiers.light.max_tokens == 800  # the tier's other field kept its default
    assert tiers.heavy.max_tokens == 5000
    assert tiers.standard == OrgSettings().tiers.standard

    item = raw_item(ORG)
    assert item["type"] == "settings"
    assert item["version"] == 2
    assert item["updated_by"] == "bob"
    assert item["updated_at"] == "2027-01-15T08:00:00.000Z"
    assert json.loads(item["overrides"]) == second.overrides  # one JSON string attribute


def test_null_in_a_patch_returns_the_field_to_its_default(repo: OrgSettingsRepository) -> None:
    repo.update(
        ORG,
        {"rate_limits": {"user_per_minute": 50, "org_per_minute": 500}, "default_mode": "cheap"},
        expected_version=None,
        updated_by="alice",
    )
    stored = repo.update(
        ORG, {"rate_limits": {"user_per_minute": None}}, expected_version=None, updated_by="alice"
    )
    assert stored.overrides == {"rate_limits": {"org_per_minute": 500}, "default_mode": "cheap"}
    assert stored.settings.rate_limits.user_per_minute == 20
    assert stored.settings.rate_limits.org_per_minute == 500

    stored = repo.update(ORG, {"rate_limits": None}, expected_version=None, updated_by="alice")
    assert stored.overrides == {"default_mode": "cheap"}
    assert repo.get(ORG).settings.rate_limits == OrgSettings().rate_limits


def test_values_are_stored_as_the_model_parsed_them(repo: OrgSettingsRepository) -> None:
    stored = repo.update(
        ORG, {"tiers": {"light": {"max_tokens": "900"}}}, expected_version=0, updated_by="a"
    )
    assert stored.overrides == {"tiers": {"light": {"max_tokens": 900}}}
    assert repo.get(ORG).overrides == {"tiers": {"light": {"max_tokens": 900}}}


@pytest.mark.parametrize(
    ("patch", "where", "says"),
    [
        ({"tiers": {"light": {"max_tokens": 0}}}, ["tiers", "light", "max_tokens"], "greater"),
        ({"tiers": {"standard_from": 0.9, "heavy_above": 0.6}}, ["tiers"], "heavy_above"),
        ({"rate_limit": {"user_per_minute": 5}}, ["rate_limit"], "not permitted"),  # a typo
        ({"cheap_models": ["gpt-4.1", "gpt-4.1"]}, [], "only once"),  # the model's own check
        ({"daily_spend_cap_usd": float("inf")}, ["daily_spend_cap_usd"], "finite"),
    ],
)
def test_an_invalid_patch_is_refused_with_its_problems_and_nothing_is_written(
    repo: OrgSettingsRepository,
    raw_item: Callable[[str], dict[str, Any]],
    patch: dict[str, Any],
    where: list[str],
    says: str,
) -> None:
    repo.update(ORG, {"default_mode": "smart"}, expected_version=0, updated_by="alice")
    before = raw_item(ORG)
    with pytest.raises(ValidationFailed) as caught:
        repo.update(ORG, patch, expected_version=None, updated_by="alice")
    assert caught.value.status == 422
    problems = {tuple(problem["loc"]): problem["msg"] for problem in caught.value.details}
    assert says in problems[tuple(where)]
    assert says in caught.value.message
    assert all(set(problem) == {"loc", "msg", "type"} for problem in caught.value.details)
    assert raw_item(ORG) == before


def test_unknown_models_are_refused_by_name(
    repo: OrgSettingsRepository, raw_item: Callable[[str], dict[str, Any]]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        repo.update(
            ORG,
            {"smart_models": ["gpt-5", "gpt-9"], "long_context": {"models": ["mystery"]}},
            expected_version=None,
            updated_by="alice",
            known_models={"gpt-5", "gpt-4.1"},
        )
    assert "gpt-9" in caught.value.message
    assert "mystery" in caught.value.message
    assert "gpt-5" not in caught.value.message
    assert raw_item(ORG) == {}


def test_a_stale_expected_version_is_a_failed_precondition(repo: OrgSettingsRepository) -> None:
    repo.update(ORG, {"default_mode": "cheap"}, expected_version=0, updated_by="alice")
    with pytest.raises(PreconditionFailed) as caught:
        repo.update(ORG, {"default_mode": "smart"}, expected_version=0, updated_by="bob")
    assert caught.value.status == 412
    assert repo.get(ORG).settings.default_mode == "cheap"


def test_without_an_expected_version_a_write_that_loses_a_race_rereads_and_merges(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    other = OrgSettingsRepository(settings.accounts_table, client=dynamodb)
    other.update(ORG, {"default_mode": "cheap"}, expected_version=0, updated_by="bob")

    def competing_write() -> None:  # lands after our read, before our write
        other.update(ORG, {"low_balance_tokens": 999}, expected_version=1, updated_by="bob")

    racing = OrgSettingsRepository(
        settings.accounts_table,
        client=CompetingClient(dynamodb, competing_write),  # type: ignore[arg-type]
    )
    stored = racing.update(
        ORG, {"cache": {"enabled": False}}, expected_version=None, updated_by="alice"
    )
    assert stored.version == 3
    assert stored.overrides == {
        "default_mode": "cheap",
        "low_balance_tokens": 999,  # the competing write survived
        "cache": {"enabled": False},
    }


def test_with_an_expected_version_losing_the_race_is_a_failed_precondition(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    other = OrgSettingsRepository(settings.accounts_table, client=dynamodb)
    racing = OrgSettingsRepository(
        settings.accounts_table,
        client=CompetingClient(  # type: ignore[arg-type]
            dynamodb,
            lambda: other.update(
                ORG, {"default_mode": "smart"}, expected_version=0, updated_by="bob"
            ),
        ),
    )
    with pytest.raises(PreconditionFailed):
        racing.update(ORG, {"default_mode": "cheap"}, expected_version=0, updated_by="alice")
    assert other.get(ORG).settings.default_mode == "smart"


def test_reset_returns_to_the_defaults_without_reusing_a_version(
    repo: OrgSettingsRepository,
) -> None:
    assert repo.reset(ORG, expected_version=0, updated_by="alice").version == 0  # nothing saved
    repo.update(ORG, {"default_mode": "cheap"}, expected_version=0, updated_by="alice")
    with pytest.raises(PreconditionFailed):
        repo.reset(ORG, expected_version=0, updated_by="alice")
    stored = repo.reset(ORG, expected_version=1, updated_by="alice")
    assert stored.settings == OrgSettings()
    assert stored.overrides == {}
    assert stored.version == 2  # an ETag "1" held by anyone can never match again
    assert repo.get(ORG).version == 2
    assert repo.update(ORG, {}, expected_version=2, updated_by="alice").version == 3


def test_a_stored_document_that_no_longer_validates_is_reported_and_can_be_repaired(
    settings: Settings, dynamodb: DynamoDBClient, repo: OrgSettingsRepository
) -> None:
    dynamodb.put_item(
        TableName=settings.accounts_table,
        Item={
            "pk": {"S": f"ORG#{ORG}"},
            "sk": {"S": "SETTINGS"},
            "overrides": {"S": json.dumps({"retired_field": 1, "default_mode": "cheap"})},
            "version": {"N": "4"},
        },
    )
    with pytest.raises(ConfigurationError, match="retired_field"):
        repo.get(ORG)
    repaired = repo.update(ORG, {"retired_field": None}, expected_version=4, updated_by="ops")
    assert repaired.overrides == {"default_mode": "cheap"}
    assert repo.get(ORG).settings.default_mode == "cheap"


def test_orgs_do_not_share_settings(repo: OrgSettingsRepository) -> None:
    repo.update(ORG, {"default_mode": "cheap"}, expected_version=0, updated_by="alice")
    assert repo.get("other-org").settings == OrgSettings()
    assert repo.get("other-org").version == 0


# Cache -------------------------------------------------------------------------------------


class FakeSource:
    """A settings source that counts reads, and can be made to fail or to block."""

    def __init__(self) -> None:
        self.reads = 0
        self.mode = "cheap"
        self.failure: ParleyError | None = None
        self.gate: threading.Event | None = None

    def get(self, org_id: str) -> StoredSettings:
        self.reads += 1
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        if self.failure is not None:
            raise self.failure
        overrides = {"default_mode": self.mode}
        return StoredSettings(
            org_id=org_id, settings=OrgSettings.model_validate(overrides), overrides=overrides
        )


class Warnings:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, message: str, **keys: Any) -> None:
        self.lines.append((message, keys))


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> Warnings:
    recorder = Warnings()
    monkeypatch.setattr(cache_module, "logger", recorder)
    return recorder


@pytest.mark.anyio
async def test_the_cache_serves_within_its_ttl_and_reads_again_after() -> None:
    source, clock = FakeSource(), FakeClock()
    cache = OrgSettingsCache(source, ttl_seconds=30, clock=clock)
    assert (await cache.get(ORG)).default_mode == "cheap"
    source.mode = "smart"
    clock.now += 29.9
    assert (await cache.get(ORG)).default_mode == "cheap"
    assert source.reads == 1
    clock.now += 0.2
    assert (await cache.get(ORG)).default_mode == "smart"
    assert source.reads == 2
    await cache.get("other-org")  # each org is its own entry
    assert source.reads == 3


@pytest.mark.anyio
async def test_concurrent_misses_for_one_org_share_one_read() -> None:
    source = FakeSource()
    source.gate = threading.Event()
    cache = OrgSettingsCache(source, clock=FakeClock())
    results: list[OrgSettings] = []

    async def read() -> None:
        results.append(await cache.get(ORG))

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(read)
        await anyio.wait_all_tasks_blocked()  # all 20 are waiting now
        assert source.reads == 1
        source.gate.set()
    assert len(results) == 20
    assert {settings.default_mode for settings in results} == {"cheap"}
    assert source.reads == 1


@pytest.mark.anyio
async def test_a_failed_read_serves_the_stale_value_with_a_warning(warnings: Warnings) -> None:
    source, clock = FakeSource(), FakeClock()
    cache = OrgSettingsCache(source, ttl_seconds=30, retry_seconds=5, clock=clock)
    await cache.get(ORG)
    clock.now += 3600  # long expired
    source.mode = "smart"
    source.failure = ServiceUnavailable("The database is unreachable.")
    assert (await cache.get(ORG)).default_mode == "cheap"
    assert len(warnings.lines) == 1
    assert warnings.lines[0][1]["org_id"] == ORG
    assert warnings.lines[0][1]["error_code"] == "service_unavailable"

    clock.now += 4  # within the retry interval: no new read, no new warning
    assert (await cache.get(ORG)).default_mode == "cheap"
    assert source.reads == 2
    clock.now += 2  # then it tries again, and recovers
    source.failure = None
    assert (await cache.get(ORG)).default_mode == "smart"
    assert source.reads == 3
    assert len(warnings.lines) == 1


@pytest.mark.anyio
async def test_a_failed_read_with_nothing_cached_raises_for_every_waiter() -> None:
    source = FakeSource()
    source.failure = ServiceUnavailable("The database is unreachable.")
    source.gate = threading.Event()
    cache = OrgSettingsCache(source, clock=FakeClock())
    outcomes: list[object] = []

    async def read() -> None:
        try:
            outcomes.append(await cache.get(ORG))
        except ServiceUnavailable as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        source.gate.set()
    assert len(outcomes) == 3
    assert all(isinstance(outcome, ServiceUnavailable) for outcome in outcomes)
    assert source.reads == 1
    source.failure, source.gate = None, None
    assert (await cache.get(ORG)).default_mode == "cheap"  # nothing bad was cached


@pytest.mark.anyio
async def test_invalidate_makes_the_next_get_read_again() -> None:
    source = FakeSource()
    cache = OrgSettingsCache(source, clock=FakeClock())
    await cache.get(ORG)
    source.mode = "smart"
    cache.invalidate(ORG)
    assert (await cache.get(ORG)).default_mode == "smart"
    assert source.reads == 2


@pytest.mark.anyio
async def test_a_read_under_way_when_invalidated_is_not_kept() -> None:
    source = FakeSource()
    source.gate = threading.Event()
    cache = OrgSettingsCache(source, clock=FakeClock())
    async with anyio.create_task_group() as group:
        group.start_soon(cache.get, ORG)
        await anyio.wait_all_tasks_blocked()
        cache.invalidate(ORG)  # the settings were written while the old ones were being read
        source.gate.set()
    source.gate = None
    source.mode = "smart"
    assert (await cache.get(ORG)).default_mode == "smart"
    assert source.reads == 2


@pytest.mark.anyio
async def test_the_cache_reads_the_repository(repo: OrgSettingsRepository) -> None:
    cache = OrgSettingsCache(repo)
    assert await cache.get(ORG) == OrgSettings()
    await anyio.to_thread.run_sync(
        lambda: repo.update(ORG, {"default_mode": "smart"}, expected_version=0, updated_by="a")
    )
    cache.invalidate(ORG)
    assert (await cache.get(ORG)).default_mode == "smart"


# HTTP API ----------------------------------------------------------------------------------


def org_app(settings: Settings, client: Any) -> FastAPI:
    orgs = org_parts(
        settings, VersionedTable(settings.accounts_table, client=client), catalog=load_catalog()
    )
    budget = BudgetCollaborators(
        ledger=AsyncLedger(Ledger(settings.accounts_table, client)), org_settings=orgs.settings
    )
    return create_app(
        routers=[org_router, budget_router], collaborators=[orgs, budget], settings=settings
    )


@pytest.fixture
def app(settings: Settings, dynamodb: DynamoDBClient) -> FastAPI:
    return org_app(settings, dynamodb)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.mark.anyio
async def test_get_returns_the_defaults_and_a_strong_etag(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/org/settings", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["etag"] == '"0"'
    body = response.json()
    assert body["org_id"] == ORG
    assert body["settings"] == DEFAULTS
    assert body["overrides"] == {}
    assert body["version"] == 0


@pytest.mark.anyio
async def test_patch_merges_and_returns_the_new_document_and_etag(
    http: httpx.AsyncClient,
) -> None:
    await http.patch(
        "/v1/org/settings", headers=ADMIN, json={"rate_limits": {"org_per_minute": 300}}
    )
    response = await http.patch(
        "/v1/org/settings",
        headers={**ADMIN, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
        content=json.dumps({"rate_limits": {"user_per_minute": 50}, "cheap_models": ["local"]}),
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert body["version"] == 2
    assert body["updated_by"] == "alice"
    assert body["overrides"] == {
        "rate_limits": {"org_per_minute": 300, "user_per_minute": 50},
        "cheap_models": ["local"],
    }
    assert body["settings"]["rate_limits"] == {"user_per_minute": 50, "org_per_minute": 300}
    assert body["settings"]["tiers"] == DEFAULTS["tiers"]
    again = await http.get("/v1/org/settings", headers=ADMIN)
    assert again.json() == body
    assert again.headers["etag"] == '"2"'


@pytest.mark.anyio
async def test_patch_null_returns_a_field_to_its_default(http: httpx.AsyncClient) -> None:
    await http.patch("/v1/org/settings", headers=ADMIN, json={"daily_spend_cap_usd": 2.5})
    response = await http.patch(
        "/v1/org/settings", headers=ADMIN, json={"daily_spend_cap_usd": None}
    )
    assert response.json()["settings"]["daily_spend_cap_usd"] is None
    assert response.json()["overrides"] == {}


@pytest.mark.anyio
async def test_an_invalid_patch_is_422_with_details_and_saves_nothing(
    http: httpx.AsyncClient,
) -> None:
    response = await http.patch(
        "/v1/org/settings",
        headers=ADMIN,
        json={"tiers": {"light": {"max_tokens": -1}}, "default_mode": "fast"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    locations = [problem["loc"] for problem in error["details"]]
    assert ["tiers", "light", "max_tokens"] in locations
    assert ["default_mode"] in locations
    after = await http.get("/v1/org/settings", headers=ADMIN)
    assert after.json()["version"] == 0


@pytest.mark.anyio
@pytest.mark.parametrize("body", ['["not", "an", "object"]', "{not json"])
async def test_a_patch_that_is_not_a_json_object_is_422(http: httpx.AsyncClient, body: str) -> None:
    response = await http.patch(
        "/v1/org/settings",
        headers={**ADMIN, "Content-Type": "application/merge-patch+json"},
        content=body,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.anyio
async def test_a_model_outside_the_catalog_is_422_naming_it(http: httpx.AsyncClient) -> None:
    response = await http.patch(
        "/v1/org/settings",
        headers=ADMIN,
        json={"tiers": {"heavy": {"models": ["claude-opus-4-1", "gpt-7-turbo"]}}},
    )
    assert response.status_code == 422
    assert "gpt-7-turbo" in response.json()["error"]["message"]
    assert "claude-opus-4-1" not in response.json()["error"]["message"]
    assert (await http.get("/v1/org/settings", headers=ADMIN)).json()["version"] == 0


@pytest.mark.anyio
async def test_if_match_guards_patch_and_delete(http: httpx.AsyncClient) -> None:
    await http.patch("/v1/org/settings", headers=ADMIN, json={"default_mode": "cheap"})
    for if_match in ('"0"', 'W/"1"', "1"):
        stale = await http.patch(
            "/v1/org/settings",
            headers={**ADMIN, "If-Match": if_match},
            json={"default_mode": "smart"},
        )
        assert stale.status_code == 412, if_match
        assert stale.json()["error"]["code"] == "precondition_failed"
    refused = await http.delete("/v1/org/settings", headers={**ADMIN, "If-Match": '"0"'})
    assert refused.status_code == 412
    current = await http.get("/v1/org/settings", headers=ADMIN)
    assert current.json()["settings"]["default_mode"] == "cheap"

    fresh = await http.patch(
        "/v1/org/settings",
        headers={**ADMIN, "If-Match": current.headers["etag"]},
        json={"default_mode": "smart"},
    )
    assert fresh.status_code == 200
    anything = await http.patch(
        "/v1/org/settings", headers={**ADMIN, "If-Match": "*"}, json={"default_mode": "auto"}
    )
    assert anything.status_code == 200
    assert anything.headers["etag"] == '"3"'


@pytest.mark.anyio
async def test_delete_returns_the_defaults_with_a_new_etag(http: httpx.AsyncClient) -> None:
    await http.patch("/v1/org/settings", headers=ADMIN, json={"cache": {"enabled": False}})
    response = await http.delete("/v1/org/settings", headers={**ADMIN, "If-Match": '"1"'})
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    assert response.json()["settings"] == DEFAULTS
    assert response.json()["overrides"] == {}
    assert (await http.get("/v1/org/settings", headers=ADMIN)).json()["settings"] == DEFAULTS


@pytest.mark.anyio
async def test_two_concurrent_patches_with_the_same_if_match_one_wins(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    # Both requests read version 0 before either writes; the conditional write decides.
    app = org_app(settings, ItemReadsMeet(dynamodb, 2, sk="SETTINGS"))
    statuses: dict[str, int] = {}

    async with client_for(app) as http:

        async def patch(mode: str) -> None:
            response = await http.patch(
                "/v1/org/settings",
                headers={**ADMIN, "If-Match": '"0"'},
                json={"default_mode": mode},
            )
            statuses[mode] = response.status_code

        async with anyio.create_task_group() as group:
            group.start_soon(patch, "cheap")
            group.start_soon(patch, "smart")

    assert sorted(statuses.values()) == [200, 412]
    winner = next(mode for mode, status in statuses.items() if status == 200)
    stored = OrgSettingsRepository(settings.accounts_table, client=dynamodb).get(ORG)
    assert stored.version == 1
    assert stored.settings.default_mode == winner


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/org/settings"),
        ("PATCH", "/v1/org/settings"),
        ("DELETE", "/v1/org/settings"),
        ("GET", "/v1/org/budget"),
    ],
)
async def test_no_token_is_401(http: httpx.AsyncClient, method: str, path: str) -> None:
    response = await http.request(method, path, json={} if method == "PATCH" else None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.anyio
async def test_settings_need_the_org_manage_scope(http: httpx.AsyncClient) -> None:
    analyst = bearer("carol", org_id=ORG, scopes="analytics:view")
    for method in ("GET", "PATCH", "DELETE"):
        response = await http.request(
            method,
            "/v1/org/settings",
            headers=analyst,
            json={"default_mode": "cheap"} if method == "PATCH" else None,
        )
        assert response.status_code == 403, method
        assert "org:manage" in response.json()["error"]["message"]
    assert (await http.get("/v1/org/settings", headers=ADMIN)).json()["version"] == 0


@pytest.mark.anyio
async def test_another_orgs_token_never_sees_or_changes_these_settings(
    http: httpx.AsyncClient,
) -> None:
    await http.patch("/v1/org/settings", headers=ADMIN, json={"default_mode": "cheap"})
    theirs = await http.get("/v1/org/settings", headers=OUTSIDER_ADMIN)
    assert theirs.json()["org_id"] == "other-org"
    assert theirs.json()["settings"] == DEFAULTS
    # The body cannot choose the org: it is not a setting.
    named = await http.patch("/v1/org/settings", headers=OUTSIDER_ADMIN, json={"org_id": ORG})
    assert named.status_code == 422
    await http.patch("/v1/org/settings", headers=OUTSIDER_ADMIN, json={"default_mode": "smart"})
    ours = await http.get("/v1/org/settings", headers=ADMIN)
    assert ours.json()["settings"]["default_mode"] == "cheap"
    assert ours.json()["version"] == 1


@pytest.mark.anyio
async def test_budget_for_an_unmetered_org(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/org/budget", headers=MEMBER)
    assert response.status_code == 200
    assert response.json() == {
        "org_id": ORG,
        "metered": False,
        "balance_tokens": None,
        "low_balance_tokens": 200,
        "daily_spend_cap_usd": None,
        "spent_today_usd": None,  # nothing to count it against
        "rate_limits": {"user_per_minute": 20, "org_per_minute": 0},
    }


@pytest.mark.anyio
async def test_budget_shows_the_balance_the_callers_spend_and_fresh_settings(
    http: httpx.AsyncClient, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    ledger = Ledger(settings.accounts_table, dynamodb)
    ledger.grant(ORG, 10_000)
    held = ledger.reserve(
        org_id=ORG,
        user_id="bob",
        request_id="req-1",
        tokens=1_000,
        cost_usd=0.05,
        daily_cap_usd=None,
        metered=True,
    )
    ledger.settle(held, tokens=400, cost_usd=0.02)
    await http.get("/v1/org/budget", headers=MEMBER)  # the settings are cached now

    await http.patch(
        "/v1/org/settings",
        headers=ADMIN,
        json={"daily_spend_cap_usd": 1.5, "rate_limits": {"user_per_minute": 5}},
    )
    body = (await http.get("/v1/org/budget", headers=MEMBER)).json()
    assert body["metered"] is True
    assert body["balance_tokens"] == 9_600
    assert body["spent_today_usd"] == pytest.approx(0.02)
    assert body["daily_spend_cap_usd"] == 1.5  # the PATCH invalidated this process's cache
    assert body["rate_limits"]["user_per_minute"] == 5
    alice = (await http.get("/v1/org/budget", headers=ADMIN)).json()
    assert alice["spent_today_usd"] == 0.0  # each member sees their own spend


# CLI ---------------------------------------------------------------------------------------


def test_cli_show_set_and_reset(cli: CliRun, repo: OrgSettingsRepository) -> None:
    code, shown, _ = cli("org", "show", "--org", ORG)
    assert code == 0
    assert shown["settings"] == DEFAULTS
    assert shown["version"] == 0

    code, changed, _ = cli(
        "org", "set", "--org", ORG, "--json", '{"rate_limits": {"user_per_minute": 50}}'
    )
    assert code == 0
    assert changed["version"] == 1
    assert changed["settings"]["rate_limits"]["user_per_minute"] == 50
    assert changed["updated_by"] == "operator:cli"
    assert repo.get(ORG).settings.rate_limits.user_per_minute == 50  # really stored

    code, _, err = cli(
        "org", "set", "--org", ORG, "--json", '{"default_mode": "smart"}', "--if-version", "0"
    )
    assert code == 2
    assert err.startswith("parley: ")

    code, reset, _ = cli("org", "reset", "--org", ORG, "--if-version", "1")
    assert code == 0
    assert reset["settings"] == DEFAULTS
    assert repo.get(ORG).overrides == {}


@pytest.mark.parametrize(
    "patch",
    [
        "{not json",
        '["a list"]',
        '{"rate_limits": {"user_per_minute": -1}}',
        '{"cheap_models": ["no-such-model"]}',
    ],
)
def test_cli_refuses_bad_settings_with_exit_2(
    cli: CliRun, repo: OrgSettingsRepository, patch: str
) -> None:
    code, out, err = cli("org", "set", "--org", ORG, "--json", patch)
    assert code == 2
    assert out is None
    assert err.startswith("parley: ")
    assert repo.get(ORG).version == 0


def test_cli_grant_meters_the_org_and_balance_reads_it(
    cli: CliRun, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    assert cli("org", "balance", "--org", ORG)[1] == {
        "org_id": ORG,
        "metered": False,
        "balance_tokens": None,
    }
    code, granted, _ = cli("org", "grant", "--org", ORG, "--tokens", "5000")
    assert code == 0
    assert granted == {"org_id": ORG, "metered": True, "balance_tokens": 5000}
    assert cli("org", "grant", "--org", ORG, "--tokens", "2500")[1]["balance_tokens"] == 7500
    assert cli("org", "balance", "--org", ORG)[1]["balance_tokens"] == 7500
    assert Ledger(settings.accounts_table, dynamodb).balance(ORG) == 7500

    code, _, err = cli("org", "grant", "--org", ORG, "--tokens", "-5")
    assert code == 2
    assert "positive" in err
