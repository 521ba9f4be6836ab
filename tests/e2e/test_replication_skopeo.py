"""Replication end to end with skopeo: an image copied in with skopeo appears, same digest,
in another region of the account and in another account (whose registry policy allows it),
and skopeo pulls it from each destination with that destination's own token. The AWS CLI
reads the replication status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ecr_emulator.testing.synthetic import make_image, write_oci_layout

from ..features.helpers import OTHER, SOURCE, replication_policy, settled_statuses
from ..registry.client import authorization_token, password_of
from ..tools import requires
from .conftest import SKOPEO

pytestmark = [
    pytest.mark.slow,
    requires(SKOPEO, "skopeo is not installed"),
]
AWS = shutil.which("aws")


def _creds(client) -> str:
    return "AWS:" + password_of(authorization_token(client))


def test_skopeo_push_replicates_to_another_region_and_account(skopeo, url, ecr, make_client, tmp_path):  # noqa: F811
    west = make_client("ecr", region="us-west-2")
    other = make_client("ecr", account=OTHER, region="eu-central-1")
    other.put_registry_policy(policyText=replication_policy(SOURCE, OTHER, "eu-central-1"))
    ecr.put_replication_configuration(replicationConfiguration={"rules": [{
        "destinations": [{"region": "us-west-2", "registryId": SOURCE},
                         {"region": "eu-central-1", "registryId": OTHER}],
        "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}]}]})
    uri = ecr.create_repository(repositoryName="prod/web")["repository"]["repositoryUri"]
    ecr.create_repository(repositoryName="dev/web")
    image = make_image("skopeo-replicated", layers=3, layer_bytes=100_000)
    source = write_oci_layout(str(tmp_path / "src"), image, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", _creds(ecr), source, f"docker://{uri}:v1")
    host = uri.split("/")[0]
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", _creds(ecr), source, f"docker://{host}/dev/web:v1")

    statuses = settled_statuses(ecr, "prod/web", {"imageTag": "v1"})
    assert {(s["region"], s["registryId"], s["status"]) for s in statuses} == {
        ("us-west-2", SOURCE, "COMPLETE"), ("eu-central-1", OTHER, "COMPLETE")}
    for client in (west, other):
        # the destination's token addresses the destination's registry (account and region)
        out = tmp_path / f"out-{client.meta.region_name}"
        skopeo("copy", "--src-tls-verify=false", "--src-creds", _creds(client), f"docker://{host}/prod/web:v1",
               f"oci:{out}:v1")
        (entry,) = json.loads((out / "index.json").read_text())["manifests"]
        assert entry["digest"] == image.digest
        for digest in image.blobs:
            assert (out / "blobs" / "sha256" / digest.split(":")[1]).exists()
        inspected = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", _creds(client),
                                      f"docker://{host}/prod/web:v1").stdout)
        assert inspected["Digest"] == image.digest
        # the filter kept dev/web at home
        names = [r["repositoryName"] for r in client.describe_repositories()["repositories"]]
        assert names == ["prod/web"]

    if AWS:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": SOURCE, "AWS_SECRET_ACCESS_KEY": "x",
               "AWS_DEFAULT_REGION": "us-east-1", "HOME": str(tmp_path)}
        done = subprocess.run([AWS, "--endpoint-url", url, "ecr", "describe-image-replication-status",
                               "--repository-name", "prod/web", "--image-id", "imageTag=v1"],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert {s["status"] for s in json.loads(done.stdout)["replicationStatuses"]} == {"COMPLETE"}
