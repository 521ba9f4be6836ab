"""ECR Public end to end with real clients: ``aws ecr-public get-login-password | podman login``,
``podman push`` and ``skopeo copy`` to the ``repositoryUri`` as returned, anonymous pulls, and
the refusals (anonymous push, private repositories anonymously or with a public token)."""

from __future__ import annotations

import json

import pytest

from ecr_emulator.testing.synthetic import digest_of, make_image, make_index, write_oci_layout

from ..registry.client import Registry, authorization_token, password_of
from .conftest import login_password

pytestmark = pytest.mark.slow
AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux"}


def _public_creds(ecr_public) -> str:
    return "AWS:" + password_of(ecr_public.get_authorization_token()["authorizationData"]["authorizationToken"])


def _layout(path) -> tuple[str, bytes]:
    (entry,) = json.loads((path / "index.json").read_text())["manifests"]
    data = (path / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_bytes()
    assert digest_of(data) == entry["digest"]
    return entry["digest"], data


def test_podman_login_push_and_anonymous_pull(podman, skopeo, ecr_public, ecr_emulator_server, url, tmp_path):
    public_host = ecr_emulator_server.public_host
    uri = ecr_public.create_repository(repositoryName="team/pubapp")["repository"]["repositoryUri"]
    assert uri == f"{public_host}/public-123456789012/team/pubapp"

    login = podman("login", "--username", "AWS", "--password-stdin", public_host,
                   input=login_password(ecr_public, url, "ecr-public"))
    assert "Login Succeeded" in login.stdout

    context = tmp_path / "context"
    context.mkdir()
    (context / "hello.txt").write_text("hello from the public registry\n")
    (context / "Containerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    podman("build", "--format", "oci", "-t", "localhost/pubapp:1", "-f", str(context / "Containerfile"), str(context))
    podman("tag", "localhost/pubapp:1", f"{uri}:v1")
    podman("push", "--digestfile", str(tmp_path / "digest"), f"{uri}:v1")
    pushed = (tmp_path / "digest").read_text().strip()

    # the one store: the API sees what the registry received, with real digests and sizes
    (detail,) = ecr_public.describe_images(repositoryName="team/pubapp")["imageDetails"]
    assert detail["imageDigest"] == pushed and detail["imageTags"] == ["v1"]
    manifest = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{uri}:v1").stdout)
    assert detail["imageSizeInBytes"] == sum(layer["size"] for layer in manifest["layers"])
    (tag,) = ecr_public.describe_image_tags(repositoryName="team/pubapp")["imageTagDetails"]
    assert tag["imageTag"] == "v1" and tag["imageDetail"]["imageDigest"] == pushed

    # anyone pulls without credentials: skopeo with no auth file entry, podman logged out
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", "--src-no-creds", f"docker://{uri}:v1", f"oci:{out}:v1")
    assert _layout(out)[0] == pushed
    podman("logout", public_host)
    podman("rmi", "--all", "--force")
    podman("pull", f"{uri}:v1")
    (image,) = json.loads(podman("image", "inspect", f"{uri}:v1").stdout)
    assert image["Digest"] == pushed

    # logged out, a push is refused
    refused = podman("push", f"{uri}:v1", check=False)
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "authentication required" in refused.stderr.lower()


def test_skopeo_copy_in_with_the_public_password_and_out_anonymously(skopeo, ecr_public, tmp_path):
    image = make_image("public-skopeo", layers=3, layer_bytes=100_000)
    uri = ecr_public.create_repository(repositoryName="tool")["repository"]["repositoryUri"]
    source = write_oci_layout(str(tmp_path / "src"), image, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", _public_creds(ecr_public), source, f"docker://{uri}:v1")

    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", "--src-no-creds", f"docker://{uri}:v1", f"oci:{out}:v1")
    digest, manifest = _layout(out)
    assert digest == image.digest and manifest == image.manifest
    listed = json.loads(skopeo("list-tags", "--tls-verify=false", "--no-creds", f"docker://{uri}").stdout)
    assert listed["Tags"] == ["v1"]


def test_an_anonymous_push_is_refused(skopeo, ecr_public, tmp_path):
    uri = ecr_public.create_repository(repositoryName="tool")["repository"]["repositoryUri"]
    source = write_oci_layout(str(tmp_path / "src"), make_image("anonymous-push"), "v1")
    refused = skopeo("copy", "--dest-tls-verify=false", "--dest-no-creds", source, f"docker://{uri}:v1", check=False)
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "authentication required" in refused.stderr.lower()
    assert ecr_public.describe_images(repositoryName="tool")["imageDetails"] == []


def test_a_private_repository_is_refused_anonymously_and_with_a_public_token(skopeo, ecr, ecr_public, tmp_path,
                                                                              ecr_emulator_server):
    image = make_image("private-only")
    uri = ecr.create_repository(repositoryName="team/secret")["repository"]["repositoryUri"]
    creds = "AWS:" + password_of(authorization_token(ecr))
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds,
           write_oci_layout(str(tmp_path / "src"), image, "v1"), f"docker://{uri}:v1")

    anonymous = skopeo("inspect", "--tls-verify=false", "--no-creds", f"docker://{uri}:v1", check=False)
    assert anonymous.returncode != 0 and "unauthorized" in anonymous.stderr.lower()
    public = skopeo("inspect", "--tls-verify=false", "--creds", _public_creds(ecr_public), f"docker://{uri}:v1",
                    check=False)
    assert public.returncode != 0 and "denied" in public.stderr.lower()
    # nor is the private repository reachable through the public registry, under any name
    via_public = f"{ecr_emulator_server.public_host}/team/secret:v1"
    missing = skopeo("inspect", "--tls-verify=false", "--no-creds", f"docker://{via_public}", check=False)
    assert missing.returncode != 0 and "name unknown" in missing.stderr.lower().replace("_", " ")


def test_a_multi_arch_index_pulls_back_anonymously_with_every_digest_equal(skopeo, ecr_public, tmp_path,
                                                                            ecr_emulator_server):
    children = [make_image("public-amd", arch="amd64"), make_image("public-arm", arch="arm64")]
    index = make_index(children, [AMD64, ARM64])
    uri = ecr_public.create_repository(repositoryName="team/multi")["repository"]["repositoryUri"]
    skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", _public_creds(ecr_public),
           write_oci_layout(str(tmp_path / "src"), index, "multi"), f"docker://{uri}:multi")

    out = tmp_path / "out"
    skopeo("copy", "--all", "--src-tls-verify=false", "--src-no-creds", f"docker://{uri}:multi", f"oci:{out}:multi")
    digest, manifest = _layout(out)
    assert digest == index.digest and manifest == index.manifest
    for child in children:
        assert (out / "blobs" / "sha256" / child.digest.split(":")[1]).read_bytes() == child.manifest
        for blob_digest, data in child.blobs.items():
            assert (out / "blobs" / "sha256" / blob_digest.split(":")[1]).read_bytes() == data
    details = ecr_public.describe_images(repositoryName="team/multi")["imageDetails"]
    assert {d["imageDigest"] for d in details} == {index.digest} | {c.digest for c in children}


def test_an_image_put_through_the_api_pulls_anonymously(skopeo, ecr_public, tmp_path, ecr_emulator_server):
    """PutImage + the layer API, then a client pull: the other direction of the one store."""
    image = make_image("public-api", layers=1)
    ecr_public.create_repository(repositoryName="tool")
    registry = Registry(ecr_emulator_server.public_url)
    for digest, data in image.blobs.items():
        upload = ecr_public.initiate_layer_upload(repositoryName="tool")["uploadId"]
        ecr_public.upload_layer_part(repositoryName="tool", uploadId=upload, partFirstByte=0,
                                     partLastByte=len(data) - 1, layerPartBlob=data)
        ecr_public.complete_layer_upload(repositoryName="tool", uploadId=upload, layerDigests=[digest])
    ecr_public.put_image(repositoryName="tool", imageManifest=image.manifest.decode(), imageTag="api",
                         imageManifestMediaType=image.media_type)
    uri = f"{registry.host}/public-123456789012/tool:api"
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", "--src-no-creds", f"docker://{uri}", f"oci:{out}:api")
    assert _layout(out) == (image.digest, image.manifest)
