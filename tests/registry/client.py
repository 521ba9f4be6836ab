"""A thin OCI distribution client over ``requests`` for the registry tests (plain HTTP as the
spec writes it), and helpers the end-to-end tests share."""

from __future__ import annotations

import base64
import socket
from urllib.parse import urlsplit

import requests

from ecr_emulator.testing.synthetic import Image, Index, digest_of

TIMEOUT = 60


def authorization_token(ecr) -> str:
    """``authorizationToken`` (base64 ``AWS:<password>``) from GetAuthorizationToken."""
    return ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]


def password_of(token: str) -> str:
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return password


class Registry:
    """``registry.get("/v2/...")`` etc., with ``Authorization: Basic <token>`` when given one."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Basic {token}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def request(self, method: str, path: str, follow: bool = True, **kwargs) -> requests.Response:
        """One request; a ``307`` to another origin (ECR's blob redirect) is followed as a client
        must follow it to S3: without the registry's ``Authorization`` (``follow=False``: not)."""
        target = path if path.startswith("http") else self.url + path
        response = self.session.request(method, target, timeout=TIMEOUT, allow_redirects=False, **kwargs)
        if follow and response.status_code == 307:
            location = response.headers["Location"]
            assert urlsplit(location).netloc != urlsplit(target).netloc, "a redirect to the same origin"
            headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"}
            response = requests.request(method, location, headers=headers, timeout=TIMEOUT, allow_redirects=False)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- pushing ------------------------------------------------------------------------
    def push_blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        response = self.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=data,
                             headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 201, response.text
        return digest

    def start_upload(self, repo: str) -> str:
        response = self.post(f"/v2/{repo}/blobs/uploads/")
        assert response.status_code == 202, response.text
        return response.headers["Location"]

    def put_manifest(self, repo: str, reference: str, manifest: bytes, media_type: str) -> requests.Response:
        return self.put(f"/v2/{repo}/manifests/{reference}", data=manifest, headers={"Content-Type": media_type})

    def push_image(self, repo: str, image: Image | Index, tag: str | None = "latest") -> str:
        """Push every blob and manifest of ``image`` (an index: its children first); its digest."""
        children = image.images if isinstance(image, Index) else []
        for child in children:
            self.push_image(repo, child, tag=None)
        for data in getattr(image, "blobs", {}).values():
            self.push_blob(repo, data)
        response = self.put_manifest(repo, tag or image.digest, image.manifest, image.media_type)
        assert response.status_code == 201, response.text
        assert response.headers["Docker-Content-Digest"] == image.digest
        return image.digest

    def tags(self, repo: str) -> dict[str, str]:
        """Every tag of ``repo`` and the digest it names (what 'stored images untouched' checks)."""
        found, path = {}, f"/v2/{repo}/tags/list?n=1000"
        while path:
            response = self.get(path)
            assert response.status_code == 200, response.text
            for tag in response.json()["tags"]:
                head = self.head(f"/v2/{repo}/manifests/{tag}", headers={"Accept": "*/*"})
                found[tag] = head.headers["Docker-Content-Digest"]
            path = response.links.get("next", {}).get("url")
        return found


def error_code(response: requests.Response) -> str:
    """The OCI error code of an error response (and the checks every error answer passes)."""
    assert response.headers.get("Docker-Distribution-API-Version") == "registry/2.0"
    assert response.headers["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert len(errors) == 1 and set(errors[0]) == {"code", "message", "detail"}, errors
    assert errors[0]["message"]
    return errors[0]["code"]


def expect_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    if response.request.method == "HEAD":  # no body to read the code from
        assert response.headers.get("Docker-Distribution-API-Version") == "registry/2.0"
        return {}
    assert error_code(response) == code, response.text
    return response.json()["errors"][0]


def raw_http(url: str, request: bytes, *, shutdown: bool = True, timeout: float = 30) -> bytes:
    """Send ``request`` bytes on a fresh connection and return everything the server answers
    until it closes (bounded by ``timeout``). ``shutdown`` half-closes the sending side."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        if shutdown:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:  # ENOTCONN: the server already closed; read what it sent
                pass
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:  # the server closed with our bytes unread: what came, came
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)
