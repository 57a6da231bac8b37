"""The analytics dashboard at ``GET /analytics``: one page (``dashboard/index.html``), its
script and style, and the vendored Chart.js (``dashboard/vendor``, refreshed by ``make
vendor-charts``), all served from this router, so the page loads nothing from anywhere else.

The page holds no data: it asks ``/v1/analytics`` with the token its user pastes (kept in the
tab's sessionStorage, never in a cookie) and renders every value with ``textContent``. It is
served under a Content-Security-Policy that allows only this origin's scripts, styles and
requests and no inline code. Each asset's URL carries a digest of its bytes, so an asset can be
cached for a year: a new deployment's page names new URLs."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from parley.errors import NotFound

__all__ = ["ASSETS", "CONTENT_SECURITY_POLICY", "PAGE_PATH", "asset_url", "router"]

PAGE_PATH = "/analytics"
_ASSET_PREFIX = f"{PAGE_PATH}/assets"

# Served name -> (file under dashboard/, content type). Nothing else is served.
ASSETS: dict[str, tuple[str, str]] = {
    "dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "chart.umd.min.js": ("vendor/chart.umd.min.js", "text/javascript; charset=utf-8"),
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page is small and names the current assets: always ask whether it changed.
    "Cache-Control": "no-cache",
}
_IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    digest: str  # the first 16 hex digits of the body's sha256


@cache
def _asset(name: str) -> _Asset:
    path, media_type = ASSETS[name]
    body = files("parley.analytics").joinpath("dashboard", *path.split("/")).read_bytes()
    return _Asset(body, media_type, hashlib.sha256(body).hexdigest()[:16])


def asset_url(name: str) -> str:
    """Where the page loads ``name`` from: its path with the digest of what is served now."""
    return f"{_ASSET_PREFIX}/{name}?v={_asset(name).digest}"


@cache
def _page() -> bytes:
    page = files("parley.analytics").joinpath("dashboard", "index.html").read_text("utf-8")
    for name in ASSETS:
        page = page.replace(f"__ASSET:{name}__", asset_url(name))
    return page.encode()


@router.get(PAGE_PATH, response_class=HTMLResponse)
async def dashboard() -> HTMLResponse:
    return HTMLResponse(_page(), headers=_PAGE_HEADERS)


@router.get(f"{_ASSET_PREFIX}/{{name}}")
async def dashboard_asset(name: str, v: str | None = None) -> Response:
    if name not in ASSETS:
        raise NotFound("No such dashboard asset.")
    asset = _asset(name)
    # Cached for good only under the URL of these bytes; any other URL is revalidated.
    cache_control = _IMMUTABLE if v == asset.digest else "no-cache"
    return Response(
        asset.body,
        media_type=asset.media_type,
        headers={
            "Cache-Control": cache_control,
            "ETag": f'"{asset.digest}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
