"""What the browser tests share: one Chromium per module, and a watched page per test (every
problem the page reports is kept, for the test to assert there is none)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.browser import Watched, chromium

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    page = Watched(browser)
    yield page
    page.close()
