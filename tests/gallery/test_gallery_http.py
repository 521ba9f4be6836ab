"""The gallery over plain HTTP: where ``GET /`` leads, the pages' security headers, and pages
for things that do not exist."""

from __future__ import annotations

import requests

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_on_the_root_goes_to_the_gallery(url):
    response = requests.get(url + "/", headers={"Accept": BROWSER_ACCEPT}, allow_redirects=False, timeout=10)
    assert response.status_code == 302 and response.headers["Location"].endswith("/gallery")


def test_other_clients_on_the_root_get_json(url):
    for accept in ("*/*", "application/json", None):
        headers = {"Accept": accept} if accept else {}
        response = requests.get(url + "/", headers=headers, allow_redirects=False, timeout=10)
        assert response.status_code == 404
        assert "/gallery" in response.json()["message"]


def test_the_aws_json_door_is_untouched(ecr):
    assert ecr.describe_repositories()["repositories"] == []


def test_pages_load_nothing_from_elsewhere(url, ecr_public):
    ecr_public.create_repository(repositoryName="tool", catalogData={"aboutText": "![x](http://example.com/x.png)"})
    for path in ("/gallery", "/gallery/public/public-123456789012/tool", "/gallery/private"):
        response = requests.get(url + path, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "img-src 'self'" in policy
        assert "<script>" not in response.text  # the one script is a file of the emulator's own
        assert "https://" not in response.text


def test_missing_things_are_404_pages(url):
    for path in ("/gallery/public/public-123456789012/nope", "/gallery/public/no-such-alias/x",
                 "/gallery/private/123456789012/eu-west-1", "/gallery/private/123456789012/us-east-1/nope"):
        response = requests.get(url + path, timeout=10)
        assert response.status_code == 404 and "Not found" in response.text


def test_the_gallery_creates_no_registry(url, ecr):
    requests.get(url + "/gallery/private/123456789012/eu-west-1", timeout=10)
    assert "eu-west-1" not in requests.get(url + "/gallery/private", timeout=10).text
