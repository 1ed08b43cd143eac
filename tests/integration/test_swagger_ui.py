"""Swagger UI on /doc and ReDoc on /redoc, in a real browser, against `cephgw serve` over TLS.

Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; never `playwright
install`) opens /doc, authorizes with an admin key (HTTP Basic), runs "Try it out" on GET
/pool and sees the 200. Every request the pages make must go to the gateway itself. The
screenshot is saved under the test's tmp dir; with CEPHGW_UPDATE_SCREENSHOT=1 it also replaces
docs/img/swagger-ui.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

from cli.dev_cluster import DevCluster
from tests.support.server import Gateway, serve_tls, shown_on_failure

# The browser check runs on the host only (the other releases' chroots have no browser).
pytestmark = [pytest.mark.integration, pytest.mark.host_only]

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes say: no background connections, which a closed network refuses.
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
DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "img" / "swagger-ui.png"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def gateway(
    cluster: DevCluster, admin_auth: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    log = tmp_path_factory.mktemp("ui-gateway") / "serve.log"
    with serve_tls(cluster, "uitest", admin_auth, log) as gw:
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: install Debian's chromium (bootstrap.sh)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, gateway: Gateway) -> Iterator[Page]:
    context = browser.new_context(
        ignore_https_errors=True,  # the gateway's certificate is self-signed
        viewport={"width": 1280, "height": 1000},
    )
    context.set_default_timeout(TIMEOUT_MS)
    # Everything a page loads comes from the gateway: no CDN, no web fonts.
    elsewhere: list[str] = []
    local = (gateway.url + "/", f"blob:{gateway.url}/", "data:")

    def note_request(request: Request) -> None:
        if not request.url.startswith(local):
            elsewhere.append(request.url)

    context.on("request", note_request)
    with shown_on_failure(gateway):
        try:
            yield context.new_page()
        finally:
            context.close()
    assert not elsewhere, f"the page loaded from outside the gateway: {elsewhere}"


def test_swagger_ui_authorizes_and_tries_get_pool(
    page: Page, gateway: Gateway, admin_auth: tuple[str, str], tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{gateway.url}/doc")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("cephgw")
    # The operations, by tag and operationId, as Swagger UI lays them out.
    list_pools = page.locator("#operations-pool-list_pools")
    expect(list_pools).to_be_visible()
    expect(page.locator("#operations-pool-get_pool")).to_be_visible()
    expect(page.locator("#operations-osd-get_osd")).to_be_visible()

    # Authorize: HTTP Basic with the key's name and the key.
    page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    expect(dialog).to_contain_text("BasicAuth")
    dialog.locator("input[type=text]").fill(admin_auth[0])
    dialog.locator("input[type=password]").fill(admin_auth[1])
    dialog.locator("button.authorize").click()
    expect(dialog).to_contain_text("Authorized")
    dialog.locator("button.btn-done").click()
    expect(dialog).to_have_count(0)

    # Try it out: GET /pool, Execute, a 200 with the pools.
    list_pools.locator(".opblock-summary-control").click()
    list_pools.locator("button.try-out__btn").click()
    list_pools.locator("button.execute").click()
    live = list_pools.locator(".live-responses-table tbody .response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text('"pool_name"')
    # The request Swagger UI shows is the one a user would make with curl.
    expect(list_pools.locator(".curl-command")).to_contain_text("Authorization: Basic")
    assert not errors, errors

    # The operation from its title down to the response; the key (in the curl line) masked.
    list_pools.evaluate("element => element.scrollIntoView({block: 'start'})")
    shot = tmp_path / "swagger-ui.png"
    page.screenshot(path=shot, mask=[list_pools.locator(".curl-command")], mask_color="#41444e")
    assert shot.stat().st_size > 10_000
    if os.environ.get("CEPHGW_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS_SCREENSHOT)


def test_redoc_renders_the_operations(page: Page, gateway: Gateway) -> None:
    page.goto(f"{gateway.url}/redoc")
    expect(page.locator("h1").first).to_contain_text("cephgw")
    # ReDoc's side menu lists the tags, and under each its operations by summary.
    page.get_by_role("menuitem", name="pool", exact=True).click()
    expect(page.get_by_role("menuitem", name=re.compile("List pools"))).to_be_visible()
    expect(page.get_by_text("Show the information for all the pools").first).to_be_visible()
