"""``--tls``: HTTPS on both listeners with a generated CA, trusted the documented ways
(``verify=``/``AWS_CA_BUNDLE`` for SDKs and the AWS CLI, a certs.d directory for skopeo),
kept-alive connections, ECR's host names in the certificate, https in the API's answers."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess

import pytest
import requests
from cryptography import x509

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image, write_oci_layout

from ..registry.client import authorization_token, password_of
from ..tools import requires

SKOPEO = shutil.which("skopeo")
AWS_V2 = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else None
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    with ServerProcess("--no-access-log", "--tls", "--tls-dir", str(directory)) as server:
        yield server, str(directory / "ca.pem")


def _names(path: str) -> tuple[set, set]:
    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificates(f.read())[0]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(i) for i in san.get_values_for_type(x509.IPAddress)}


def test_both_listeners_serve_https_and_the_api_answers_https(tls_server):
    server, ca = tls_server
    assert server.url.startswith("https://") and server.public_url.startswith("https://")
    ecr = checked_client("ecr", server.url, verify=ca)
    repo = ecr.create_repository(repositoryName="secure/app")["repository"]
    assert repo["repositoryUri"] == f"{server.host}/secure/app"
    data = ecr.get_authorization_token()["authorizationData"][0]
    assert data["proxyEndpoint"] == f"https://{server.host}"
    auth = ("AWS", password_of(data["authorizationToken"]))
    assert requests.get(server.url + "/v2/", auth=auth, verify=ca, timeout=10).status_code == 200
    # the public registry's listener answers over verified TLS too (what it serves is its own story)
    assert requests.get(server.public_url + "/v2/", verify=ca, timeout=10).headers["Content-Type"]
    with pytest.raises(requests.exceptions.SSLError):  # not trusted without the CA
        requests.get(server.url + "/_emulator/health", timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):  # and no plain HTTP on the TLS port
        requests.get(server.url.replace("https", "http") + "/_emulator/health", timeout=10)


def test_a_tls_connection_is_kept_alive_for_many_requests(tls_server):
    server, ca = tls_server
    host, port = server.host.rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection((host, int(port)), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as sock:
        assert sock.version() in ("TLSv1.2", "TLSv1.3") and sock.selected_alpn_protocol() in (None, "http/1.1")
        reader = sock.makefile("rb")
        for _ in range(5):
            sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                assert not line.lower().startswith(b"connection: close")
            assert b'"ok"' in reader.read(length)


def test_the_certificate_names_ecr_hosts_and_is_kept(tmp_path):
    with ServerProcess("--no-access-log", "--tls", "--tls-dir", str(tmp_path), "--region", "eu-west-3"):
        pass
    dns, ips = _names(str(tmp_path / "server.pem"))
    assert {"localhost", "*.dkr.ecr.eu-west-3.amazonaws.com", "api.ecr.eu-west-3.amazonaws.com"} <= dns
    assert {"127.0.0.1", "::1"} <= ips
    ca, cert = (tmp_path / "ca.pem").read_bytes(), (tmp_path / "server.pem").read_bytes()
    with ServerProcess("--no-access-log", "--tls", "--tls-dir", str(tmp_path), "--region", "eu-west-3"):
        pass
    assert (tmp_path / "ca.pem").read_bytes() == ca and (tmp_path / "server.pem").read_bytes() == cert
    # another region needs other names: a new server certificate from the same CA
    with ServerProcess("--no-access-log", "--tls", "--tls-dir", str(tmp_path), "--region", "ap-south-1") as server:
        assert requests.get(server.url + "/_emulator/health", verify=str(tmp_path / "ca.pem"), timeout=10).ok
    assert (tmp_path / "ca.pem").read_bytes() == ca
    assert "*.dkr.ecr.ap-south-1.amazonaws.com" in _names(str(tmp_path / "server.pem"))[0]
    assert (tmp_path / "server-key.pem").stat().st_mode & 0o777 == 0o600


def test_tls_files_default_to_the_state_dir(tmp_path):
    with ServerProcess("--no-access-log", "--tls", "--state-dir", str(tmp_path)) as server:
        assert requests.get(server.url + "/_emulator/health", verify=str(tmp_path / "tls" / "ca.pem"),
                            timeout=10).ok


@requires(AWS_V2, "AWS CLI v2 is not installed")
def test_aws_cli_trusts_the_ca_through_aws_ca_bundle(tls_server, tmp_path):
    server, ca = tls_server
    env = {**os.environ, "AWS_CA_BUNDLE": ca, "AWS_ACCESS_KEY_ID": "123456789012", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "HOME": str(tmp_path), "AWS_CONFIG_FILE": "/dev/null"}
    done = subprocess.run([AWS_V2, "--endpoint-url", server.url, "ecr", "get-login-password"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert requests.get(server.url + "/v2/", auth=("AWS", done.stdout.strip()), verify=ca, timeout=10).ok


@requires(SKOPEO, "skopeo is not installed")
def test_skopeo_pushes_over_verified_tls_with_a_certs_d_directory(tls_server, tmp_path):
    server, ca = tls_server
    ecr = checked_client("ecr", server.url, verify=ca)
    ecr.create_repository(repositoryName="secure/skopeo")
    certs = tmp_path / "certs.d" / server.host  # the layout of /etc/containers/certs.d/<host:port>/
    certs.mkdir(parents=True)
    shutil.copy(ca, certs / "ca.crt")
    image = make_image("tls")
    creds = "AWS:" + password_of(authorization_token(ecr))
    done = subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-cert-dir", str(certs), "--dest-creds",
                           creds, write_oci_layout(str(tmp_path / "layout"), image, "v1"),
                           f"docker://{server.host}/secure/skopeo:v1"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    described = ecr.describe_images(repositoryName="secure/skopeo")["imageDetails"]
    assert [d["imageDigest"] for d in described] == [digest_of(image.manifest)]
