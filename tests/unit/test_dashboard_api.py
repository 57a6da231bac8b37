"""The dashboard's router (parley.analytics.dashboard_api): the page under its
Content-Security-Policy with no inline code, each asset with its content type and a year's
cache under its digest's URL, nothing else served, and the vendored Chart.js byte for byte the
one `make vendor-charts` recorded."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest

from parley.analytics.dashboard_api import ASSETS, CONTENT_SECURITY_POLICY, asset_url
from parley.analytics.dashboard_api import router as dashboard_router
from parley.analytics.store import MemoryRollupStore
from parley.apps.analytics import analytics_parts, create_analytics_app
from parley.config import Settings
from parley.http import create_app
from parley.state.versioned import MemoryVersionedItems
from tests.conftest import REPO
from tests.support.asgi import client_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

pytestmark = pytest.mark.anyio

DASHBOARD = REPO / "layers" / "core" / "parley" / "analytics" / "dashboard"
VENDOR = DASHBOARD / "vendor"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=Settings(env="development"), routers=[dashboard_router])
    async with client_for(app) as http:
        yield http


class _Markup(HTMLParser):
    """What the page's markup loads and whether any of it is inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.styles: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named.get("src"))
        if tag == "style":
            self.inline.append("<style>")
        if tag == "link" and named.get("rel") == "stylesheet":
            self.styles.append(named["href"] or "")
        self.inline += [f"{tag} {name}" for name in named if name == "style" or name[:2] == "on"]


async def test_the_page_is_served_under_a_policy_allowing_only_its_own_origin(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/analytics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    policy = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"

    markup = _Markup()
    markup.feed(response.text)
    # Every script is a file of this router (the policy would refuse inline code anyway).
    assert markup.scripts == [asset_url("chart.umd.min.js"), asset_url("dashboard.js")]
    assert markup.styles == [asset_url("dashboard.css")]
    assert markup.inline == []
    assert "__ASSET:" not in response.text
    assert "http://" not in response.text
    assert "https://" not in response.text


@pytest.mark.parametrize("name", sorted(ASSETS))
async def test_each_asset_is_served_with_its_type_and_cached_for_a_year_under_its_digest(
    client: httpx.AsyncClient, name: str
) -> None:
    path, media_type = ASSETS[name]
    response = await client.get(asset_url(name))
    assert response.status_code == 200
    assert response.content == (DASHBOARD / path).read_bytes()
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    digest = hashlib.sha256(response.content).hexdigest()[:16]
    assert asset_url(name).endswith(f"?v={digest}")
    assert response.headers["etag"] == f'"{digest}"'


async def test_an_asset_under_another_url_than_its_digests_is_revalidated(
    client: httpx.AsyncClient,
) -> None:
    for url in ("/analytics/assets/dashboard.js", "/analytics/assets/dashboard.js?v=0"):
        response = await client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/analytics/assets/index.html",
        "/analytics/assets/chart.js.json",
        "/analytics/assets/vendor%2Fchart.umd.min.js",
        "/analytics/assets/..%2F..%2Fdashboard_api.py",
        "/analytics/assets/",
    ],
)
async def test_nothing_but_the_listed_assets_is_served(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    if response.headers["content-type"] == "application/json":
        assert response.json()["error"]["code"] == "not_found"


def test_the_script_never_writes_markup() -> None:
    script = (DASHBOARD / "dashboard.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert "textContent" in script


def test_the_vendored_chart_js_is_the_one_make_vendor_charts_recorded() -> None:
    record = json.loads((VENDOR / "chart.js.json").read_text())
    makefile = (REPO / "Makefile").read_text()
    pinned = re.search(r"^CHART_JS_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert pinned, "the Makefile pins CHART_JS_VERSION"
    assert record["package"] == "chart.js"
    assert record["version"] == pinned.group(1)

    bundle = (VENDOR / "chart.umd.min.js").read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == record["files"]["chart.umd.min.js"], (
        "the committed chart.umd.min.js is not the one recorded: run `make vendor-charts`"
    )
    assert bundle.startswith(f"/*!\n * Chart.js v{record['version']}\n".encode())
    licence = (VENDOR / "chart.js.LICENSE.md").read_text()
    assert record["license"] == "MIT"
    assert licence.startswith("The MIT License (MIT)")
    assert "Chart.js Contributors" in licence


async def test_the_analytics_function_serves_the_dashboard() -> None:
    # The analytics function's parts carry the router, so its app and `parley dev` (the sum of
    # every function's parts) both serve the page.
    settings = Settings(env="development")
    parts = analytics_parts(settings, rollups=MemoryRollupStore(), documents=MemoryVersionedItems())
    assert dashboard_router in parts.routers
    app = create_analytics_app(
        settings, rollups=MemoryRollupStore(), documents=MemoryVersionedItems()
    )
    async with client_for(app) as http:
        page = await http.get("/analytics")
        script = await http.get(asset_url("chart.umd.min.js"))
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert script.status_code == 200
    assert script.content == (VENDOR / "chart.umd.min.js").read_bytes()
