"""Browser journeys: one Chromium for all of them, a fresh context (cookies, viewport) per test."""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from . import axe

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Short enough that a broken journey fails fast, long enough for a loaded CI machine.
TIMEOUT_MS = 5_000
HERE = Path(__file__).resolve().parent
LOGIN_PATH = "/accounts/login/"
CODE_PATH = "/accounts/two-step/"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (`-m "not e2e"` skips them)."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package", autouse=True)
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test thread, where Django refuses ORM calls.

    Set for this package only: a process-wide variable would reach other tests' subprocesses
    (`check --deploy` rejects it, async.E001). Package scope is the whole browser session here.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def playwright(_allow_orm_beside_playwright) -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., BrowserContext]]:
    """Makes isolated browser contexts (English browser, no cookies); all are closed after the test.

    axe checks every page the test visits (tests/e2e/axe.py): a serious or critical violation fails it.
    """
    contexts: list[BrowserContext] = []
    checked = axe.Watch()

    def make(**options) -> BrowserContext:
        # Service workers only where a test asks for them (tests/e2e/test_offline_journey.py): a worker fetches
        # the field pages in the background, and the in-memory SQLite live server fails two requests at once.
        options = {"viewport": DESKTOP, "locale": "en-US", "service_workers": "block", **options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        # Leaving a page waits for its axe check (axe.py): a navigation gets that time on top.
        context.set_default_navigation_timeout(TIMEOUT_MS + axe.WAIT_S * 1000)
        axe.watch(context, checked)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        axe.finish(context, checked)
        context.close()
    checked.report(request.node.nodeid)
    failures = checked.failures()
    assert not failures, "axe: serious or critical violations\n" + "\n".join(failures)


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


@pytest.fixture
def phone_page(new_context) -> Page:
    return new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Saves a full-page `<name>.png` into $LOUDOU_SCREENSHOTS, when set; otherwise does nothing."""
    folder = os.environ.get("LOUDOU_SCREENSHOTS")

    def take(page: Page, name: str) -> None:
        if not folder:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def login() -> Callable[..., None]:
    """Signs a user in through the login form and waits until the browser has left it. An admin has an
    authenticator app set up and types its code on the next page, as admins do before admin pages."""

    def sign_in(page: Page, live_server, user, password: str) -> None:
        app = TOTPDevice.objects.get_or_create(user=user, defaults={"confirmed": True})[0] if user.is_admin else None
        if LOGIN_PATH not in page.url:
            page.goto(live_server.url + LOGIN_PATH)
        form = page.locator(f"main form[action='{LOGIN_PATH}']")
        form.locator("input[name=username]").fill(user.username)
        form.locator("input[name=password]").fill(password)
        # The button is "Sign in" or its translation, so find it by type, not by text.
        form.locator("button[type=submit]").click()
        expect(page).not_to_have_url(re.compile(re.escape(LOGIN_PATH)))
        if app is not None:
            expect(page).to_have_url(re.compile(re.escape(CODE_PATH)))
            code = page.locator(f"main form[action='{CODE_PATH}']")
            code.locator("input[name=code]").fill(f"{TOTP(app.bin_key, app.step, app.t0, app.digits).token():06d}")
            code.locator("button[type=submit]").click()
            expect(page).not_to_have_url(re.compile(re.escape(CODE_PATH)))

    return sign_in
