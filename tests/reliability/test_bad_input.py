"""No 500s: every input the probe found, through both doors, gets AWS's or the OCI spec's error,
and what was stored stays readable."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.testing.synthetic import digest_of, make_image

from ..registry.client import expect_error, raw_http

TARGET = "AmazonEC2ContainerRegistry_V20150921."
SCOPE = "AWS4-HMAC-SHA256 Credential=123456789012/20260101/{region}/ecr/aws4_request, SignedHeaders=host, Signature=0"


def call(url: str, operation: str, body: bytes, region: str = "us-east-1", **headers) -> requests.Response:
    """A raw AWS JSON 1.1 request (what a client with a bug, or a fuzzer, sends)."""
    return requests.post(url + "/", data=body, timeout=60, headers={
        "X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1",
        "Authorization": SCOPE.format(region=region), **headers})


def aws_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["__type"] == code, body
    return body["message"]


# -- manifests: strict JSON of a manifest media type, through both doors -------------------

def _manifest_variants(image) -> dict[str, bytes]:
    doc = json.loads(image.manifest)
    text = image.manifest.decode()
    with_annotation = dict(doc, annotations={"x": "@@"})
    annotated = json.dumps(with_annotation)
    return {
        "surrogate escape": annotated.replace("@@", "\\ud800").encode(),
        "surrogate key": json.dumps(dict(doc, annotations={"@@": "x"})).replace("@@", "\\udfff").encode(),
        "NaN": text.replace('"schemaVersion": 2', '"schemaVersion": 2, "n": NaN').encode(),
        "Infinity": text.replace('"schemaVersion": 2', '"schemaVersion": 2, "n": -Infinity').encode(),
        "BOM": b"\xef\xbb\xbf" + image.manifest,
        "invalid UTF-8": annotated.replace("@@", "\udcff", 1).encode("utf-8", "surrogateescape"),
        "text/plain": json.dumps(dict(doc, mediaType="text/plain")).encode(),
    }


@pytest.fixture
def pushed(registry, repo):
    image = make_image("bad-input")
    registry.push_image(repo, image, "good")
    return image


@pytest.mark.parametrize("variant", ["surrogate escape", "surrogate key", "NaN", "Infinity", "BOM",
                                     "invalid UTF-8", "text/plain"])
def test_bad_manifests_are_refused_through_both_doors(url, ecr, registry, repo, pushed, variant):
    manifest = _manifest_variants(pushed)[variant]
    # the registry door: MANIFEST_INVALID, whatever the Content-Type says
    for content_type in (pushed.media_type, "application/json"):
        response = registry.put(f"/v2/{repo}/manifests/bad", data=manifest, headers={"Content-Type": content_type})
        expect_error(response, 400, "MANIFEST_INVALID")
    # the API door: PutImage -> InvalidParameterException (raw: a JSON string may carry any of it)
    text = manifest.decode("utf-8", "surrogateescape")
    body = json.dumps({"repositoryName": repo, "imageManifest": text, "imageTag": "bad"}).encode()
    aws_error(call(url, "PutImage", body), 400, "InvalidParameterException")
    # nothing stored; BatchGetImage of everything still answers
    assert registry.get(f"/v2/{repo}/manifests/bad").status_code == 404
    found = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "good"}, {"imageTag": "bad"}])
    assert [i["imageId"]["imageTag"] for i in found["images"]] == ["good"]


def test_lone_surrogate_in_put_image_manifest_is_invalid_parameter(url, repo, pushed):
    """The probe's case: the imageManifest string itself holds a lone surrogate."""
    body = json.dumps({"repositoryName": repo, "imageManifest": "{\ud800}"}).encode()  # ensure_ascii: \\ud800
    assert b"\\ud800" in body
    message = aws_error(call(url, "PutImage", body), 400, "InvalidParameterException")
    assert "imageManifest" in message


def test_lone_surrogate_anywhere_in_control_plane_input(url):
    body = b'{"repositoryName": "a\\udc00b"}'
    aws_error(call(url, "CreateRepository", body), 400, "InvalidParameterException")
    body = b'{"repositoryNames": ["ok"], "nextToken": "\\ud83d"}'
    aws_error(call(url, "DescribeRepositories", body), 400, "InvalidParameterException")


def test_nan_and_huge_numbers_in_control_plane_bodies(url):
    aws_error(call(url, "DescribeRepositories", b'{"maxResults": NaN}'), 400, "SerializationException")
    aws_error(call(url, "DescribeRepositories", b'{"maxResults": ' + b"9" * 5000 + b"}"), 400,
              "SerializationException")
    token = base64.urlsafe_b64encode(b'{"o": 1e999, "s": "x"}').decode()
    aws_error(call(url, "DescribeRepositories", json.dumps({"nextToken": token}).encode()), 400,
              "InvalidParameterException")


# -- credentials and tokens with non-ASCII bytes ---------------------------------------------

@pytest.mark.parametrize("credential", [
    b"Basic \xff\xfe\xfd",
    b"Basic " + base64.b64encode("AWS:pässwörd".encode()),
    b"Basic " + base64.b64encode(b"AWS:\xff\xfe.\xfd"),
    b"Basic " + base64.b64encode("AWS:é.é".encode()),
])
def test_non_ascii_basic_credentials_are_unauthorized(url, credential):
    answer = raw_http(url, b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
                      + credential + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 401"), answer[:300]
    assert b"UNAUTHORIZED" in answer


@pytest.mark.parametrize("garbage", ["%C3%A9.%C3%A9", "%FF%FE", "abc.%E2%98%83"])
def test_non_ascii_download_url_is_denied(ecr_emulator_server, garbage):
    """Garbage in a pre-signed URL's path and signature: S3's 403, never a 500."""
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + garbage + "&X-Amz-Date=20260101T000000Z"
             "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=" + garbage)
    response = requests.get(f"{ecr_emulator_server.download_url}/ecr-emulator-layers/{garbage}?{query}", timeout=10)
    assert response.status_code == 403, response.text
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text


# -- numbers of any length -----------------------------------------------------------------

@pytest.mark.parametrize("header,status", [
    ("bytes=" + "9" * 5000 + "-", 416),
    ("bytes=0-" + "9" * 5000, 206),
    ("bytes=-" + "9" * 5000, 206),
    ("bytes=" + "0" * 5000 + "1-2", 206),
])
def test_range_numbers_with_thousands_of_digits(registry, repo, header, status):
    digest = registry.push_blob(repo, b"0123456789")
    response = registry.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == status, response.text


def test_content_range_numbers_with_thousands_of_digits(registry, repo):
    location = registry.start_upload(repo)
    response = registry.patch(location, data=b"abc", headers={"Content-Range": "0-" + "9" * 5000})
    expect_error(response, 416, "RANGE_INVALID")
    response = registry.patch(location, data=b"abc", headers={"Content-Range": "9" * 4400 + "-" + "9" * 3000})
    expect_error(response, 416, "RANGE_INVALID")
    assert registry.patch(location, data=b"abc", headers={"Content-Range": "0-2"}).status_code == 202


# -- control-plane body limit --------------------------------------------------------------

def test_oversized_control_plane_body_is_refused_unread(url):
    """256 MiB announced, a few bytes sent: the answer comes without the rest being read."""
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}DescribeRepositories\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {256 << 20}\r\n\r\n").encode()
    answer = raw_http(url, head + b'{"repositoryNames": [', shutdown=False, timeout=30)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413"), answer[:300]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["__type"] == "ValidationException" and "33554432" in body["message"]


def test_oversized_chunked_control_plane_body_is_refused(url):
    def chunks():
        yield b'{"repositoryNames": ["'
        for _ in range(33):
            yield b"a" * (1 << 20)

    response = requests.post(url + "/", data=chunks(), timeout=60, headers={
        "X-Amz-Target": TARGET + "DescribeRepositories", "Content-Type": "application/x-amz-json-1.1"})
    aws_error(response, 413, "ValidationException")


# -- the credential scope's region ---------------------------------------------------------

@pytest.mark.parametrize("region", ["<script>", "a" * 3000, "us-east-1x", "US-EAST-1", "local", "xx"])
def test_invalid_regions_in_the_credential_scope_are_refused(url, region):
    message = aws_error(call(url, "CreateRepository", b'{"repositoryName": "r1"}', region=region),
                        403, "InvalidSignatureException")
    assert region not in message or region == "xx"
    # nothing was created anywhere, and no ARN carries it
    listed = call(url, "DescribeRepositories", b"{}").json()
    assert listed == {"repositories": []}


def test_invalid_region_through_boto3(make_client):
    client = make_client("ecr", region="mars")
    with pytest.raises(ClientError) as error:
        client.describe_repositories()
    assert error.value.response["Error"]["Code"] == "InvalidSignatureException"
    for region, partition in (("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn"), ("eu-central-2", "aws"),
                              ("ap-southeast-5", "aws"), ("us-isob-east-1", "aws-iso-b")):
        arn = make_client("ecr", region=region).create_repository(repositoryName="ok")["repository"]["repositoryArn"]
        assert arn.startswith(f"arn:{partition}:ecr:{region}:")


# -- manifest references that are neither a tag nor a digest --------------------------------

@pytest.mark.parametrize("reference", ["-bad", "sha256:short", "sha256:" + "z" * 64, "a" * 400, ".x", "UPPER:case"])
def test_manifest_reference_neither_tag_nor_digest_is_manifest_unknown(registry, repo, reference):
    expect_error(registry.get(f"/v2/{repo}/manifests/{reference}"), 404, "MANIFEST_UNKNOWN")
    expect_error(registry.head(f"/v2/{repo}/manifests/{reference}"), 404, "MANIFEST_UNKNOWN")


def test_digest_of_helper_is_sha256():
    assert digest_of(b"").startswith("sha256:e3b0")
