"""The gallery in a real headless Chromium: search, filters, a repository page's tabs, catalog
text that tries to inject a script, and the private registries' browser. A screenshot of every
page is kept under test-artifacts/gallery/."""

from __future__ import annotations

import pytest

from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry, authorization_token

pytestmark = pytest.mark.slow
ALIAS = "public-123456789012"


def _public_registry(ecr_public, ecr_emulator_server) -> Registry:
    """A client of the public registry holding a push token of the caller's account."""
    import requests

    auth = ecr_public.get_authorization_token()["authorizationData"]["authorizationToken"]
    registry = Registry(ecr_emulator_server.public_url)
    registry.session.headers["Authorization"] = f"Bearer {auth}"
    assert requests.get(ecr_emulator_server.public_url + "/v2/", headers={"Authorization": f"Bearer {auth}"},
                        timeout=10).status_code == 200
    return registry


@pytest.fixture
def catalog(ecr_public):
    ecr_public.create_repository(repositoryName="redis-server", catalogData={
        "description": "In-memory key-value store", "architectures": ["x86-64", "ARM 64"],
        "operatingSystems": ["Linux"], "usageText": "Run it with `podman run redis-server`"})
    ecr_public.create_repository(repositoryName="team/webapp", catalogData={
        "description": "A web application", "architectures": ["x86-64"], "operatingSystems": ["Linux"]})
    ecr_public.create_repository(repositoryName="tools/winagent", catalogData={
        "description": "Monitoring agent", "architectures": ["ARM 64"], "operatingSystems": ["Windows"]})


def _follow(browser, by, value) -> None:
    """Click what navigates to another page, and wait until the new page has replaced the old."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(by, value).click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(old))


def _results(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results .repo-link")]


def test_search_narrows_the_list(browser, screenshot, url, catalog):
    from selenium.webdriver.common.by import By

    browser.get(url + "/gallery")
    assert _results(browser) == [f"{ALIAS}/redis-server", f"{ALIAS}/team/webapp", f"{ALIAS}/tools/winagent"]
    screenshot("all")
    box = browser.find_element(By.ID, "search")
    box.clear()
    box.send_keys("key-value")  # matches a description
    _follow(browser, By.ID, "search-button")
    assert _results(browser) == [f"{ALIAS}/redis-server"]
    assert browser.find_element(By.ID, "result-count").text == "1 of 3 repositories"
    screenshot("searched")
    box = browser.find_element(By.ID, "search")
    box.clear()
    box.send_keys("WEBAPP")  # matches a name, in any case
    _follow(browser, By.ID, "search-button")
    assert _results(browser) == [f"{ALIAS}/team/webapp"]


def test_the_architecture_and_os_filters(browser, screenshot, url, catalog):
    from selenium.webdriver.common.by import By

    browser.get(url + "/gallery")
    browser.find_element(By.CSS_SELECTOR, "input[name=arch][value='ARM 64']").click()
    _follow(browser, By.ID, "search-button")
    assert _results(browser) == [f"{ALIAS}/redis-server", f"{ALIAS}/tools/winagent"]
    screenshot("arm64")
    browser.find_element(By.CSS_SELECTOR, "input[name=os][value='Linux']").click()
    _follow(browser, By.ID, "search-button")
    assert _results(browser) == [f"{ALIAS}/redis-server"]
    screenshot("arm64-linux")


def test_a_repository_page_shows_usage_and_tags(browser, screenshot, url, catalog, ecr_public, ecr_emulator_server):
    from selenium.webdriver.common.by import By

    image = make_image("gallery-redis", layers=2, layer_bytes=50_000)
    _public_registry(ecr_public, ecr_emulator_server).push_image(f"{ALIAS}/redis-server", image, "7.2")

    browser.get(url + "/gallery")
    _follow(browser, By.LINK_TEXT, f"{ALIAS}/redis-server")
    assert browser.find_element(By.ID, "repo-name").text == f"{ALIAS}/redis-server"
    command = browser.find_element(By.ID, "pull-command").get_attribute("value")
    assert command == f"podman pull {ecr_emulator_server.public_host}/{ALIAS}/redis-server:7.2"
    browser.find_element(By.CSS_SELECTOR, "button[data-copy]").click()
    screenshot("about")

    _follow(browser, By.ID, "tab-usage")
    usage = browser.find_element(By.ID, "usage")
    assert usage.text == "Run it with podman run redis-server"
    assert usage.find_element(By.TAG_NAME, "code").text == "podman run redis-server"
    screenshot("usage")

    _follow(browser, By.ID, "tab-tags")
    (row,) = browser.find_elements(By.CSS_SELECTOR, "#tags tbody tr")
    assert row.find_element(By.CLASS_NAME, "tag").text == "7.2"
    size = row.find_element(By.CLASS_NAME, "size")
    (detail,) = ecr_public.describe_images(repositoryName="redis-server")["imageDetails"]
    assert size.get_attribute("title") == f"{detail['imageSizeInBytes']} bytes"
    n = detail["imageSizeInBytes"]
    assert size.text == (f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB")
    screenshot("tags")


def test_catalog_text_with_a_script_is_shown_as_text(browser, screenshot, url, ecr_public):
    from selenium.webdriver.common.by import By

    attack = "<script>window.injected = 1</script><img src=x onerror='window.injected = 2'>"
    ecr_public.create_repository(repositoryName="evil", catalogData={
        "description": attack, "aboutText": f"# Title\n\n{attack}\n\n[click](javascript:window.injected=3)",
        "usageText": attack})
    browser.get(url + f"/gallery/public/{ALIAS}/evil")
    assert browser.find_element(By.ID, "repo-description").text == attack
    about = browser.find_element(By.ID, "about")
    assert attack in about.text
    assert about.find_elements(By.TAG_NAME, "script") == [] and about.find_elements(By.TAG_NAME, "img") == []
    assert not about.find_elements(By.CSS_SELECTOR, "a[href^='javascript']")
    assert browser.execute_script("return window.injected === undefined")
    screenshot("about")
    browser.get(url + "/gallery?q=evil")
    assert browser.execute_script("return window.injected === undefined")
    assert attack in browser.find_element(By.CSS_SELECTOR, "#results .description").text
    screenshot("list")


def test_the_private_browser_from_the_root_page(browser, screenshot, url, ecr):
    from selenium.webdriver.common.by import By

    ecr.create_repository(repositoryName="team/private-app")
    image = make_image("gallery-private")
    Registry(url, authorization_token(ecr)).push_image("team/private-app", image, "v1")

    browser.get(url + "/")
    assert browser.current_url.rstrip("/") == url + "/gallery"
    screenshot("root")
    _follow(browser, By.LINK_TEXT, "Private registries")
    (row,) = browser.find_elements(By.CSS_SELECTOR, "#registries tbody tr")
    assert row.text.split()[:4] == ["123456789012", "us-east-1", "1", "1"]
    screenshot("registries")
    _follow(browser, By.LINK_TEXT, "123456789012")
    _follow(browser, By.LINK_TEXT, "team/private-app")
    (row,) = browser.find_elements(By.CSS_SELECTOR, "#images tbody tr")
    assert row.find_element(By.CLASS_NAME, "tags").text == "v1"
    assert image.digest[:19] in row.text
    assert row.find_element(By.CLASS_NAME, "scan").text == "—"  # never scanned
    screenshot("images")


def test_the_private_browser_shows_a_scan_status(browser, screenshot, url, ecr):
    """An image really scanned (scan on push, against the shipped demo feed) shows COMPLETE,
    as DescribeImages' imageScanStatus does; one never scanned shows "—"."""
    from selenium.webdriver.common.by import By

    from ecr_emulator.testing.scan_images import dpkg_status, image_of, layer, os_release

    ecr.create_repository(repositoryName="team/scanned", imageScanningConfiguration={"scanOnPush": True})
    debian = layer({"etc/os-release": os_release("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
                    "var/lib/dpkg/status": dpkg_status([("libc6", "2.36-9+deb12u1", "glibc")])})
    registry = Registry(url, authorization_token(ecr))
    digest = registry.push_image("team/scanned", image_of([debian]), "v1")
    ecr.get_waiter("image_scan_complete").wait(repositoryName="team/scanned", imageId={"imageDigest": digest},
                                               WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    findings = ecr.describe_image_scan_findings(repositoryName="team/scanned", imageId={"imageDigest": digest})
    assert findings["imageScanFindings"]["findingSeverityCounts"]  # the demo feed matched: a real scan
    ecr.put_image_scanning_configuration(repositoryName="team/scanned",
                                         imageScanningConfiguration={"scanOnPush": False})
    unscanned = make_image("gallery-unscanned")
    registry.push_image("team/scanned", unscanned, "v2")

    browser.get(url + "/gallery/private/123456789012/us-east-1/team/scanned")
    rows = {row.find_element(By.CLASS_NAME, "tags").text: row
            for row in browser.find_elements(By.CSS_SELECTOR, "#images tbody tr")}
    assert rows["v1"].find_element(By.CLASS_NAME, "scan").text == "COMPLETE"
    assert rows["v2"].find_element(By.CLASS_NAME, "scan").text == "—"
    screenshot("scanned")
