"""tags/list and _catalog (n/last pagination with RFC 5988 Link headers) and the referrers API."""

from __future__ import annotations

import json

import pytest

from ecr_emulator.store.manifests import OCI_INDEX, OCI_MANIFEST
from ecr_emulator.testing.synthetic import OCI_CONFIG, digest_of, make_image

from .client import expect_error

SIGNATURE = "application/vnd.example.signature.v1+json"
SBOM = "application/vnd.example.sbom.v1+json"


def _tag_all(registry, repo, tags):
    image = make_image("tags")
    registry.push_image(repo, image, tags[0])
    for tag in tags[1:]:
        assert registry.put_manifest(repo, tag, image.manifest, OCI_MANIFEST).status_code == 201


def test_tags_list_is_sorted(registry, repo):
    _tag_all(registry, repo, ["v2", "latest", "v10", "A1"])
    response = registry.get(f"/v2/{repo}/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": repo, "tags": ["A1", "latest", "v10", "v2"]}
    assert "Link" not in response.headers


def test_tags_pagination_follows_link_headers(registry, repo):
    tags = [f"t{i:02d}" for i in range(7)]
    _tag_all(registry, repo, tags)
    pages, path = [], f"/v2/{repo}/tags/list?n=3"
    while path:
        response = registry.get(path)
        pages.append(response.json()["tags"])
        link = response.headers.get("Link")
        if link:
            assert link.endswith('>; rel="next"') and link.startswith(f"</v2/{repo}/tags/list?n=3&last=")
        path = response.links.get("next", {}).get("url")
        assert len(pages) < 10
    assert pages == [tags[0:3], tags[3:6], tags[6:7]]
    assert registry.get(f"/v2/{repo}/tags/list", params={"last": "t04"}).json()["tags"] == ["t05", "t06"]
    assert registry.get(f"/v2/{repo}/tags/list", params={"n": 2, "last": "t01"}).json()["tags"] == ["t02", "t03"]


def test_tags_pages_of_100_by_default(registry, repo):
    tags = [f"tag{i:03d}" for i in range(105)]
    _tag_all(registry, repo, tags)
    first = registry.get(f"/v2/{repo}/tags/list")
    assert first.json()["tags"] == tags[:100]
    assert registry.get(first.links["next"]["url"]).json()["tags"] == tags[100:]


def test_tags_n_zero_and_bad_n(registry, repo):
    _tag_all(registry, repo, ["a", "b"])
    response = registry.get(f"/v2/{repo}/tags/list?n=0")
    assert response.json()["tags"] == [] and "Link" not in response.headers
    for bad in ("-1", "x", "1001"):
        expect_error(registry.get(f"/v2/{repo}/tags/list?n={bad}"), 400, "PAGINATION_NUMBER_INVALID")


def test_tags_of_an_empty_and_a_missing_repository(registry, repo):
    assert registry.get(f"/v2/{repo}/tags/list").json() == {"name": repo, "tags": []}
    expect_error(registry.get("/v2/missing/tags/list"), 404, "NAME_UNKNOWN")


def test_catalog(registry, ecr):
    names = ["alpha", "beta/one", "beta/two", "gamma"]
    for name in reversed(names):
        ecr.create_repository(repositoryName=name)
    assert registry.get("/v2/_catalog").json() == {"repositories": names}
    first = registry.get("/v2/_catalog?n=3")
    assert first.json() == {"repositories": names[:3]}
    assert first.headers["Link"] == '</v2/_catalog?n=3&last=beta%2Ftwo>; rel="next"'
    rest = registry.get(first.links["next"]["url"])
    assert rest.json() == {"repositories": ["gamma"]} and "Link" not in rest.headers


def _referrer(subject, seed, artifact_type=SIGNATURE, **kwargs):
    descriptor = {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.manifest)}
    return make_image(seed, layers=1, artifact_type=artifact_type, subject=descriptor, **kwargs)


def test_referrers_lists_manifests_with_that_subject(registry, repo):
    subject = make_image("subject")
    registry.push_image(repo, subject, "v1")
    signature = _referrer(subject, "sig")
    for data in signature.blobs.values():
        registry.push_blob(repo, data)
    response = registry.put_manifest(repo, signature.digest, signature.manifest, OCI_MANIFEST)
    assert response.status_code == 201
    assert response.headers["OCI-Subject"] == subject.digest
    sbom = _referrer(subject, "sbom", artifact_type=None, config_media_type=SBOM)
    registry.push_image(repo, sbom, tag=None)
    unrelated = _referrer(make_image("other"), "unrelated")
    registry.push_image(repo, unrelated, tag=None)

    response = registry.get(f"/v2/{repo}/referrers/{subject.digest}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == OCI_INDEX
    assert "OCI-Filters-Applied" not in response.headers
    index = response.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in index["manifests"]}
    assert by_digest == {
        signature.digest: {"mediaType": OCI_MANIFEST, "digest": signature.digest, "size": len(signature.manifest),
                           "artifactType": SIGNATURE},
        sbom.digest: {"mediaType": OCI_MANIFEST, "digest": sbom.digest, "size": len(sbom.manifest),
                      "artifactType": SBOM},
    }

    filtered = registry.get(f"/v2/{repo}/referrers/{subject.digest}", params={"artifactType": SBOM})
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sbom.digest]
    none = registry.get(f"/v2/{repo}/referrers/{subject.digest}", params={"artifactType": "x/y"})
    assert none.json()["manifests"] == []


def test_referrers_carry_annotations_and_index_referrers(registry, repo):
    subject = make_image("annotated")
    registry.push_image(repo, subject, "v1")
    descriptor = {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.manifest)}
    child = make_image("child")
    registry.push_image(repo, child, tag=None)
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "subject": descriptor,
                       "manifests": [child.descriptor()], "annotations": {"org.example": "yes"}}).encode()
    response = registry.put_manifest(repo, digest_of(body), body, OCI_INDEX)
    assert response.status_code == 201 and response.headers["OCI-Subject"] == subject.digest
    (entry,) = registry.get(f"/v2/{repo}/referrers/{subject.digest}").json()["manifests"]
    assert entry == {"mediaType": OCI_INDEX, "digest": digest_of(body), "size": len(body),
                     "annotations": {"org.example": "yes"}}


def test_referrers_of_an_unknown_subject_is_an_empty_index(registry, repo):
    response = registry.get(f"/v2/{repo}/referrers/{digest_of(b'nothing')}")
    assert response.status_code == 200
    assert response.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


@pytest.mark.parametrize("digest", ["sha256:abc", "nothing"])
def test_referrers_of_a_malformed_digest_is_400(registry, repo, digest):
    expect_error(registry.get(f"/v2/{repo}/referrers/{digest}"), 400, "DIGEST_INVALID")


def test_a_referrer_may_be_pushed_before_its_subject(registry, repo):
    subject = make_image("later")
    referrer = _referrer(subject, "early")
    registry.push_image(repo, referrer, tag=None)
    registry.push_image(repo, subject, "v1")
    (entry,) = registry.get(f"/v2/{repo}/referrers/{subject.digest}").json()["manifests"]
    assert entry["digest"] == referrer.digest


def test_oci_config_media_type_is_the_artifact_type_fallback(registry, repo):
    subject = make_image("plain")
    registry.push_image(repo, subject, "v1")
    plain = _referrer(subject, "plain-ref", artifact_type=None)
    registry.push_image(repo, plain, tag=None)
    (entry,) = registry.get(f"/v2/{repo}/referrers/{subject.digest}").json()["manifests"]
    assert entry["artifactType"] == OCI_CONFIG
