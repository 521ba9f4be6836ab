"""The gallery as the seed shows it, in a real headless Chromium: for a verified registry
(``--public-verified``) a card shows its display name as the publisher with a verified badge,
its logo as an image, "N downloads" counted from anonymous pulls (skopeo and plain HTTP),
"1 tag" and "Updated 5 months ago" (the emulator's clock); the "Verified account" filter
leaves only verified publishers. A screenshot of each step is kept under test-artifacts/gallery/."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry

pytestmark = pytest.mark.slow
VERIFIED, OTHER = "123456789012", "210987654321"
SKOPEO = shutil.which("skopeo")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain one-colour PNG (the logo the browser must decode and draw)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--no-access-log", "--public-verified", VERIFIED) as running:
        yield running


def _owner_registry(server, account: str) -> Registry:
    ecr_public = checked_client("ecr-public", server.url, account=account)
    token = ecr_public.get_authorization_token()["authorizationData"]["authorizationToken"]
    registry = Registry(server.public_url)
    registry.session.headers["Authorization"] = f"Bearer {token}"
    return registry


def _anonymous_pull(server, path: str, tag: str) -> None:
    """A pull as the distribution spec writes it: an anonymous Bearer token, then the manifest."""
    scope = f"repository:{path}:pull"
    token = requests.get(f"{server.public_url}/token", params={"scope": scope, "service": "public.ecr.aws"},
                         timeout=10).json()["token"]
    response = requests.get(f"{server.public_url}/v2/{path}/manifests/{tag}",
                            headers={"Authorization": f"Bearer {token}", "Accept": "*/*"}, timeout=10)
    assert response.status_code == 200, response.text


def test_a_verified_publisher_with_downloads_logo_and_filter(browser, screenshot, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    assert SKOPEO, "skopeo is not installed (.ci/run installs it)"
    owner = checked_client("ecr-public", server.url, account=VERIFIED)
    owner.put_registry_catalog_data(displayName="Example Corp")
    owner.create_repository(repositoryName="redis", catalogData={
        "description": "In-memory key-value store", "logoImageBlob": png(64, 64, (255, 153, 0)),
        "architectures": ["x86-64", "ARM 64"], "operatingSystems": ["Linux"]})
    checked_client("ecr-public", server.url, account=OTHER).create_repository(
        repositoryName="hobby", catalogData={"description": "Someone's project", "operatingSystems": ["Linux"]})
    alias = f"public-{VERIFIED}"
    _owner_registry(server, VERIFIED).push_image(f"{alias}/redis", make_image("gallery-verified"), "7")
    # five months of the emulator's clock pass between the push and the visit
    assert requests.post(server.url + "/_emulator/clock/advance", json={"seconds": 150 * 86400}, timeout=10).ok

    _anonymous_pull(server, f"{alias}/redis", "7")
    _anonymous_pull(server, f"{alias}/redis", "7")
    copied = subprocess.run([SKOPEO, "--insecure-policy", "copy", "--src-tls-verify=false", "--src-no-creds",
                             f"docker://{server.public_host}/{alias}/redis:7", f"oci:{tmp_path / 'out'}:7"],
                            capture_output=True, text=True, timeout=120, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert copied.returncode == 0, copied.stderr
    # a HEAD (a client checking for a newer image) is not a download
    assert requests.head(f"{server.public_url}/v2/{alias}/redis/manifests/7", timeout=10).status_code in (200, 401)

    browser.get(server.url + "/gallery")
    cards = {card.find_element(By.CLASS_NAME, "repo-link").text: card
             for card in browser.find_elements(By.CSS_SELECTOR, "#results .card")}
    assert set(cards) == {f"{alias}/redis", f"public-{OTHER}/hobby"}
    card = cards[f"{alias}/redis"]
    assert card.find_element(By.CLASS_NAME, "publisher-name").text == "Example Corp"
    assert card.find_element(By.CLASS_NAME, "verified").text == "✓ Verified account"
    assert card.find_element(By.CLASS_NAME, "downloads").text == "3 downloads"
    assert card.find_element(By.CLASS_NAME, "tag-count").text == "1 tag"
    assert card.find_element(By.CLASS_NAME, "updated").text == "Updated 5 months ago"
    assert [b.text for b in card.find_elements(By.CLASS_NAME, "badge")] == ["Linux", "x86-64", "ARM 64"]
    logo = card.find_element(By.CLASS_NAME, "card-logo")
    WebDriverWait(browser, 20).until(lambda _: browser.execute_script("return arguments[0].complete", logo))
    assert browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", logo) == [64, 64]
    hobby = cards[f"public-{OTHER}/hobby"]
    assert hobby.find_element(By.CLASS_NAME, "publisher-name").text == f"public-{OTHER}"
    assert not hobby.find_elements(By.CLASS_NAME, "verified") and not hobby.find_elements(By.TAG_NAME, "img")
    assert hobby.find_element(By.CLASS_NAME, "downloads").text == "0 downloads"
    assert hobby.find_element(By.CLASS_NAME, "updated").text == "No images yet"
    screenshot("all")

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "verified-filter").click()
    browser.find_element(By.ID, "search-button").click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(old))
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results .repo-link")] == [f"{alias}/redis"]
    assert browser.find_element(By.ID, "verified-filter").is_selected()
    assert browser.find_element(By.ID, "result-count").text == "1 of 2 repositories"
    screenshot("verified-only")
