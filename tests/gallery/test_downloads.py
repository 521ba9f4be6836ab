"""What the gallery counts as a download (AWS does not document its rule; the emulator's is in
``store.image_door.record_download``): a manifest GET from the public registry, anonymous or
authenticated; not a HEAD, not a blob, not the child manifest of a multi-platform pull; and the
count is state (exported with it). Plus the wording of counts and times on the cards."""

from __future__ import annotations

import io
import re
import tarfile
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ecr_emulator.gallery import wording
from ecr_emulator.testing.synthetic import digest_of, make_image, make_index

from ..registry.client import Registry

ALIAS = "public-123456789012"
ACCEPT = {"Accept": "*/*"}


def _downloads(url: str, name: str) -> int:
    page = requests.get(url + f"/gallery/public/{ALIAS}/{name}", timeout=10).text
    return int(re.search(r'class="downloads" title="(\d+) image pulls"', page).group(1))


def _token(public_url: str, name: str, auth=None) -> str:
    response = requests.get(public_url + "/token", params={"scope": f"repository:{ALIAS}/{name}:pull"},
                            auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_manifest_gets_count_heads_blobs_and_index_children_do_not(url, ecr_public, ecr_emulator_server):
    public = ecr_emulator_server.public_url
    ecr_public.create_repository(repositoryName="multi")
    password = ecr_public.get_authorization_token()["authorizationData"]["authorizationToken"]
    owner = Registry(public)
    owner.session.headers["Authorization"] = f"Bearer {password}"
    amd, arm = make_image("dl-amd"), make_image("dl-arm", arch="arm64")
    index = make_index([amd, arm], [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}])
    owner.push_image(f"{ALIAS}/multi", index, "v1")
    assert _downloads(url, "multi") == 0  # pushing is not downloading

    anonymous = Registry(public)
    anonymous.session.headers["Authorization"] = f"Bearer {_token(public, 'multi')}"
    path = f"/v2/{ALIAS}/multi"
    # one multi-platform pull: the index by tag, then the child of the platform
    assert anonymous.get(f"{path}/manifests/v1", headers=ACCEPT).status_code == 200
    assert anonymous.get(f"{path}/manifests/{amd.digest}", headers=ACCEPT).status_code == 200
    assert anonymous.get(f"{path}/blobs/{digest_of(amd.layers[0])}").status_code == 200
    assert anonymous.head(f"{path}/manifests/v1", headers=ACCEPT).status_code == 200
    assert _downloads(url, "multi") == 1
    # an authenticated pull (the owner's token from its ecr-public password) counts too, by digest
    authenticated = Registry(public)
    authenticated.session.headers["Authorization"] = f"Bearer {_token(public, 'multi', ('AWS', _password(password)))}"
    assert authenticated.get(f"{path}/manifests/{index.digest}", headers=ACCEPT).status_code == 200
    assert _downloads(url, "multi") == 2
    # a refused pull (no token) is no download
    assert requests.get(public + f"{path}/manifests/v1", timeout=10).status_code == 401
    assert _downloads(url, "multi") == 2

    with tarfile.open(fileobj=io.BytesIO(requests.get(url + "/_emulator/state", timeout=30).content)) as tar:
        state = tar.extractfile("state.json").read()
    assert '"download_count":2' in state.decode()  # plain state: saved and restored like the rest


def _password(authorization_token: str) -> str:
    import base64

    return base64.b64decode(authorization_token).decode().partition(":")[2]


@pytest.mark.parametrize("count, text", [
    (0, "0 downloads"), (1, "1 download"), (999, "999 downloads"), (1000, "1K+ downloads"),
    (118_734, "118K+ downloads"), (2_500_000, "2M+ downloads"), (3_000_000_000, "3B+ downloads")])
def test_download_counts_as_the_gallery_words_them(count, text):
    assert wording.downloads(count) == text


@pytest.mark.parametrize("delta, text", [
    (timedelta(seconds=10), "a few seconds ago"), (timedelta(minutes=1), "a minute ago"),
    (timedelta(minutes=10), "10 minutes ago"), (timedelta(hours=1), "an hour ago"),
    (timedelta(hours=5), "5 hours ago"), (timedelta(days=1), "a day ago"), (timedelta(days=3), "3 days ago"),
    (timedelta(days=31), "a month ago"), (timedelta(days=150), "5 months ago"), (timedelta(days=400), "a year ago"),
    (timedelta(days=800), "2 years ago"), (timedelta(seconds=-5), "a few seconds ago")])
def test_updated_times_as_the_gallery_words_them(delta, text):
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert wording.ago(now - delta, now) == text


def test_tag_counts_are_pluralised():
    assert [wording.plural(n, "tag") for n in (0, 1, 2)] == ["0 tags", "1 tag", "2 tags"]
