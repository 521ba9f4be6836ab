"""A headless Chromium driven through Selenium (Debian's ``chromium`` + ``chromium-driver``):
one browser per xdist worker, a fresh profile directory, screenshots kept under
``test-artifacts/gallery/`` (ignored by git)."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

import pytest

from ..tools import need

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = pathlib.Path(__file__).parents[2] / "test-artifacts" / "gallery"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1280,1000")


@pytest.fixture(scope="session")
def browser():
    need(CHROMIUM and CHROMEDRIVER, "chromium and chromedriver are not installed (apt-get install chromium "
                                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gallery-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot(browser, request):
    """``screenshot("name")``: keep a PNG of the current page as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> pathlib.Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png".replace(os.sep, "_")
        assert browser.save_screenshot(str(path)), f"no screenshot saved at {path}"
        return path

    return take
