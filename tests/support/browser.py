"""A real browser for the tests: Debian's Chromium driven by Playwright (its own browser
download does not work here, so it launches the system's), and a page that records every
problem it sees: console errors and warnings, uncaught exceptions, failed requests and
responses of 400 or more. The dashboard's helpers (load, wait, read a chart or a table) are
here because more than one test drives it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "Watched",
    "api",
    "chart_data",
    "chromium",
    "load",
    "settled",
    "table_rows",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Served(Protocol):
    @property
    def url(self) -> str: ...


def chromium() -> Iterator[Browser]:
    """The launched browser (a fixture's body: ``yield from chromium()``)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing. `make test` installs it (Debian package chromium); "
            "or run `apt-get install chromium`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page and everything it reported: console errors, uncaught exceptions, requests that
    failed and responses of 400 or more."""

    def __init__(self, browser: Browser) -> None:
        self.page: Page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.url} {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} {response.url}")

    def close(self) -> None:
        self.page.close()


def api(server: Served, path: str, bearer: str) -> Any:
    """What the page's API answers a caller with ``bearer`` (200, or the test fails)."""
    import httpx

    response = httpx.get(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {bearer}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def load(watched: Watched, server: Served, bearer: str, days: int) -> Page:
    page = watched.page
    page.goto(f"{server.url}/analytics")
    page.fill("#token", bearer)
    page.select_option("#days", str(days))
    page.click("#load")
    settled(page)
    return page


# Waiting goes through selectors: a predicate of wait_for_function would be evaluated as a
# string in the page, which its Content-Security-Policy refuses (no 'unsafe-eval').
def settled(page: Page) -> None:
    """Wait for the page's load to end, drawn or refused."""
    page.wait_for_selector(
        "#dashboard[data-state=ready], #dashboard[data-state=error]", state="attached"
    )


def chart_data(page: Page, canvas: str) -> dict[str, Any]:
    data: dict[str, Any] = page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const chart = Chart.getChart(canvas);
            if (!chart) return null;
            return {
                width: canvas.width, height: canvas.height, type: chart.config.type,
                labels: chart.data.labels,
                datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
            };
        }""",
        canvas,
    )
    assert data is not None, f"no chart on #{canvas}"
    assert data["width"] > 0
    assert data["height"] > 0
    return data


def table_rows(page: Page, table: str) -> list[list[str]]:
    rows: list[list[str]] = page.evaluate(
        """(id) => [...document.getElementById(id).tBodies[0].rows]
            .map((row) => [...row.cells].map((cell) => cell.textContent))""",
        table,
    )
    return rows
