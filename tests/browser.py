"""The web console's test rig: a small registry for a real axis, and a real headless Chromium.

The browser is Debian's ``chromium`` driven by its ``chromedriver`` through Selenium, both at
fixed paths so that nothing is ever downloaded (Selenium Manager is bypassed by naming the
driver). Where either is absent the browser tests skip with the reason; ``.ci/run`` installs
both. With ``AXIS_CONSOLE_SCREENSHOTS=1`` the tests write a full-page screenshot of each page
to ``docs/console/`` (off by default, so a test run leaves the checkout as it was).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from axis.config import AxisConfig
from axis.paths import PROJECT_ROOT
from axis.resources import open_store
from registry.model import VN_TZ, Agency
from registry.registry import Registry

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = PROJECT_ROOT / "docs" / "console"
SCREENSHOTS_ON = os.environ.get("AXIS_CONSOLE_SCREENSHOTS") == "1"

SMALL_REGISTRY = (
    ("000.00.00.G22", "Văn phòng Chính phủ", "VPCP"),
    ("000.00.00.G09", "Bộ Nội vụ", "BNV"),
    ("000.00.00.G24", "Bộ Thông tin và Truyền thông", "Bộ TT&TT"),
    ("000.00.00.H38", "Ủy ban nhân dân tỉnh Lào Cai", "UBND tỉnh Lào Cai"),
    ("000.00.00.H63", "Ủy ban nhân dân tỉnh Yên Bái", "UBND tỉnh Yên Bái"),
    ("000.00.00.H30", "Ủy ban nhân dân tỉnh Hòa Bình", "UBND tỉnh Hòa Bình"),
    ("000.00.00.H46", "Ủy ban nhân dân tỉnh Phú Thọ", "UBND tỉnh Phú Thọ"),
)
"""The agencies of the console's tests, all in force, no succession yet (the tests make them):
a few records load in milliseconds where the packaged seed's 14,387 take seconds."""


def small_registry() -> Registry:
    since = dt.datetime(2020, 1, 1, tzinfo=VN_TZ)
    return Registry.build(
        [
            Agency(code, name, short_name=short, kind="people_committee", valid_from=since)
            for code, name, short in SMALL_REGISTRY
        ],
        author="tests",
        reason="the console's test registry",
    )


def seed_small_registry(config: AxisConfig) -> None:
    """Seed the store of ``config`` with :func:`small_registry` before the axis starts."""

    async def seed() -> None:
        async with open_store(config) as store:
            assert await store.seed_registry(small_registry())

    asyncio.run(seed())


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is absent (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


class Browser:
    """One headless Chromium session against one axis: pages by path, forms, screenshots."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.base = ""

    # --- navigation -----------------------------------------------------------------------

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def path(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str = "body") -> str:
        return str(self.find(css).text)

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def set_value(self, css: str, value: str) -> None:
        """Set an input as a script would: one whose typing is locale-bound (``datetime-local``),
        or a long paste (typing a certificate key by key takes seconds)."""
        self.driver.execute_script("arguments[0].value = arguments[1];", self.find(css), value)

    def click(self, css: str) -> None:
        self.find(css).click()

    def submit(self, css: str) -> None:
        """Click a form's button and wait for the next page to load."""

        page = self.find("html")
        self.find(css).click()
        self._loaded(page)

    def _loaded(self, page: Any) -> None:
        """Wait until ``page`` is gone and the next one has loaded whole."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def gone(_driver: Any) -> bool:
            try:
                page.is_enabled()
            except StaleElementReferenceException:
                return True
            except WebDriverException as exc:
                # caught mid-navigation, Chromium 156 may answer with an inspector error for
                # the old page's node rather than a stale reference: it is gone all the same
                if "does not belong to the document" in str(exc):
                    return True
                raise
            return False

        wait = WebDriverWait(self.driver, 30)
        wait.until(gone)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def wait_for(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, 20).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def html_lang(self) -> str:
        return str(self.find("html").get_attribute("lang"))

    def problem_status(self) -> int | None:
        """The status an error page states (``data-status``), None on any other page."""
        found = self.find_all("#problem")
        return int(found[0].get_attribute("data-status")) if found else None

    # --- who is logged in -----------------------------------------------------------------

    def login(self, system_id: str, secret: str) -> None:
        self.driver.delete_all_cookies()
        self.open("/console/login")
        self.fill("#system_id", system_id)
        self.fill("#secret", secret)
        self.submit("#login")

    def logout(self) -> None:
        self.submit("#logout")

    def cookie_names(self) -> set[str]:
        return {str(c["name"]) for c in self.driver.get_cookies()}

    def post_form(self, action: str, fields: dict[str, str]) -> None:
        """Build a form in the page and submit it, with the page's own CSRF token: what a person
        who edits the page (or crafts a request with their session) can send."""

        page = self.find("html")
        self.driver.execute_script(
            """
            const form = document.createElement('form');
            form.method = 'post';
            form.action = arguments[0];
            const fields = Object.assign(
              {csrf: document.querySelector('meta[name=csrf-token]').content}, arguments[1]);
            for (const [name, value] of Object.entries(fields)) {
              const input = document.createElement('input');
              input.type = 'hidden'; input.name = name; input.value = value;
              form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
            """,
            action,
            fields,
        )
        self._loaded(page)

    # --- pictures -------------------------------------------------------------------------

    def screenshot(self, name: str) -> None:
        """A full-page PNG in ``docs/console/`` when ``AXIS_CONSOLE_SCREENSHOTS=1``."""
        if not SCREENSHOTS_ON:
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        height = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
        metrics = {"width": 1280, "height": min(height, 4000), "deviceScaleFactor": 1}
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False}
        )
        try:
            self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (a test module's fixture; skips where Chromium is absent)."""
    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--lang=vi",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
