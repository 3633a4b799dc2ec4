"""Swagger UI at /swagger on the offline stack, in a real headless Chromium driven by Playwright.

Chromium comes from the system's packages (`make test` installs Debian's `chromium` where it is
missing); where there is none, or Playwright is missing, the test is skipped with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from local.api import api_routes
from local.stack import LocalStack
from tests.e2e.helpers import create_campaign

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox (root in a container), and nothing that reaches beyond loopback on its own.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UNDOCUMENTED = {"/openapi.json", "/swagger"}  # the documents themselves
PAGE_TIMEOUT_MS = 30_000
CALLBACK_ROUTE = "/callbacks/voice/{campaignId}/{signature}"


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make venv)")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (make test does, as root)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def test_swagger_ui_lists_every_route_and_executes_a_get(local_stack: LocalStack, browser_page: Any) -> None:
    assert local_stack.functions is not None
    routes = {
        (route.method, route.resource)
        for route in api_routes(local_stack.functions.specs)
        if route.resource not in UNDOCUMENTED
    }
    campaign_id = str(create_campaign(local_stack, ["+306900000030"])["campaignId"])

    page = browser_page
    page.goto(f"{local_stack.api_url}/swagger")
    page.locator(".opblock").first.wait_for()
    listed = {
        (
            block.locator(".opblock-summary-method").inner_text().upper(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in page.locator(".opblock").all()
    }

    operation = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/campaigns"]')
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table .response")
    live.locator(".response-col_status").first.wait_for()
    assert live.locator(".response-col_status").first.inner_text().strip() == "200"
    assert f'"campaignId": "{campaign_id}"' in live.locator(".response-col_description").first.inner_text()

    assert listed == routes
