"""CNCF Distribution (Debian's ``docker-registry``) as a real upstream registry for the
pull-through tests: started on a free 127.0.0.1 port with a config file in a temporary
directory, in one of Distribution's three auth modes, seeded with skopeo, always stopped.

- ``auth=None``: anonymous pulls and pushes;
- ``auth="htpasswd"``: HTTP Basic against an htpasswd file (Distribution takes bcrypt only;
  ``htpasswd -B`` from apache2-utils makes it, as Distribution's documentation does);
- ``auth="token"``: Distribution's token authentication (docs/spec/auth/token.md): a 401 with
  ``Bearer realm=...,service=...,scope=...``; :class:`TokenServer` (Distribution ships none)
  checks Basic credentials and issues ES256 JWTs whose ``x5c`` header carries a certificate
  that Distribution's ``rootcertbundle`` holds.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from ecr_emulator.testing import stop_process
from ecr_emulator.testing.synthetic import write_oci_layout

REGISTRY = shutil.which("docker-registry")
HTPASSWD = shutil.which("htpasswd")
SKOPEO = shutil.which("skopeo")
ISSUER, SERVICE = "test-token-issuer", "test-distribution"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer(ThreadingHTTPServer):
    """``GET /token?service=&scope=repository:<name>:pull[,push]`` with the right Basic
    credentials: a JWT granting the scope, signed ES256 with a key whose self-signed
    certificate (``cert_pem``) Distribution trusts. Wrong credentials: 401. Every request's
    query is kept in ``requests_seen``."""

    daemon_threads = True

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(hours=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .sign(self.key, hashes.SHA256()))
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_der = self.cert.public_bytes(serialization.Encoding.DER)
        self.requests_seen: list[dict[str, list[str]]] = []
        super().__init__(("127.0.0.1", 0), _TokenHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def issue(self, subject: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")[0], ":".join(scope.split(":")[1:-1]), scope.split(":")[-1]
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())).encode()
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return signing_input.decode() + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def start(self) -> "TokenServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _TokenHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        server: TokenServer = self.server
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        server.requests_seen.append(query)
        expected = "Basic " + base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        if self.headers.get("Authorization") != expected or query.get("service") != [SERVICE]:
            body, status = b'{"details":"incorrect username or password"}', 401
        else:
            token = server.issue(server.username, query.get("scope", []))
            body, status = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Distribution:
    """``with Distribution(tmp_path, auth=...) as registry``: ``url``, ``host``, ``seed()``, ``stop()``."""

    def __init__(self, workdir, auth: str | None = None, username: str = "hubuser", password: str = "hubtoken",
                 trusted_issuer: bool = True) -> None:
        """``trusted_issuer=False`` (token auth): Distribution's rootcertbundle holds another
        certificate than the token server's, so every token it is given must be refused."""
        assert REGISTRY, "docker-registry (CNCF Distribution) is not installed (.ci/run installs docker-registry)"
        self.workdir = os.path.join(str(workdir), f"distribution-{uuid.uuid4().hex[:8]}")
        os.makedirs(self.workdir)
        self.auth, self.username, self.password = auth, username, password
        self.trusted_issuer = trusted_issuer
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens: TokenServer | None = None
        self.process: subprocess.Popen | None = None
        self.log = os.path.join(self.workdir, "registry.log")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _auth_config(self) -> str:
        if self.auth is None:
            return ""
        if self.auth == "htpasswd":
            assert HTPASSWD, "htpasswd is not installed (.ci/run installs apache2-utils)"
            path = os.path.join(self.workdir, "htpasswd")
            made = subprocess.run([HTPASSWD, "-Bbn", self.username, self.password], capture_output=True,
                                  text=True, timeout=30, check=True)
            with open(path, "w") as f:
                f.write(made.stdout)
            return f"auth:\n  htpasswd:\n    realm: test-realm\n    path: {path}\n"
        if self.auth == "token":
            self.tokens = TokenServer(self.username, self.password).start()
            bundle = os.path.join(self.workdir, "token-ca.pem")
            trusted = self.tokens if self.trusted_issuer else TokenServer(self.username, self.password)
            with open(bundle, "wb") as f:
                f.write(trusted.cert_pem)
            if trusted is not self.tokens:
                trusted.server_close()
            return (f"auth:\n  token:\n    realm: {self.tokens.url}/token\n    service: {SERVICE}\n"
                    f"    issuer: {ISSUER}\n    rootcertbundle: {bundle}\n")
        raise ValueError(f"unknown auth {self.auth!r}")

    def start(self) -> "Distribution":
        config = os.path.join(self.workdir, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.workdir}/data\n  delete:\n    enabled: true\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\n" + self._auth_config())
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([REGISTRY, "serve", config], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                status = requests.get(self.url + "/v2/", timeout=2).status_code
                if status in (200, 401):
                    return self
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("docker-registry did not start:\n" + open(self.log).read())
            time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)
        tokens, self.tokens = self.tokens, None
        if tokens is not None:
            tokens.stop()

    def seed(self, name: str, image, tag: str) -> None:
        """Push ``image`` (an image or an index) to ``name:tag`` with skopeo, digests unchanged."""
        assert SKOPEO, "skopeo is not installed (.ci/run installs it)"
        layout = write_oci_layout(os.path.join(self.workdir, f"layout-{uuid.uuid4().hex[:8]}"), image, tag)
        creds = ["--dest-creds", f"{self.username}:{self.password}"] if self.auth else []
        done = subprocess.run([SKOPEO, "--insecure-policy", "copy", "--all", "--preserve-digests",
                               "--dest-tls-verify=false", *creds, layout, f"docker://{self.host}/{name}:{tag}"],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HOME": self.workdir, "REGISTRY_AUTH_FILE":
                                   os.path.join(self.workdir, "auth.json")})
        assert done.returncode == 0, f"skopeo copy to Distribution failed:\n{done.stderr}"

    def __enter__(self) -> "Distribution":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
