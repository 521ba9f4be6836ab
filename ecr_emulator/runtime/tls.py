"""``--tls``: a certificate authority and a server certificate made on first use, then kept.

Files in the TLS directory (``--tls-dir``, else ``tls/`` in the ``--state-dir``, else
``~/.cache/ecr-emulator/tls``):

- ``ca.pem`` -- the CA certificate clients trust (``SSL_CERT_FILE``, ``AWS_CA_BUNDLE``,
  ``REQUESTS_CA_BUNDLE``, podman's ``/etc/containers/certs.d/<host:port>/ca.crt``);
- ``ca-key.pem`` -- its key (kept, so the CA clients trust stays the same when the server
  certificate is renewed);
- ``server.pem`` / ``server-key.pem`` -- the server's certificate (chain: itself, then the
  CA) and key.

The server certificate names ``localhost``, ``127.0.0.1``, ``::1``, the bind address and the
ECR host names of every region the server answers for (``*.dkr.ecr.<region>.<dns suffix>``,
``api.ecr.<region>.<dns suffix>``, ... for botocore's regions, ``--region`` and each
``--extra-region``; ``amazonaws.com.cn`` in China), so clients can reach the emulator under
ECR's own names through ``/etc/hosts``. It is made again (by the same CA) when it lacks a name the
settings need or is about to expire. Keys are EC P-256; certificates are made with the
``cryptography`` package.
"""

from __future__ import annotations

import datetime
import ipaddress
import os

from ..addressing.partitions import ecr_host_names
from ..settings import user_cache_dir

CA = "ca.pem"
CA_KEY = "ca-key.pem"
CERT = "server.pem"
KEY = "server-key.pem"

CA_DAYS = 3650
CERT_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)


class TlsError(Exception):
    """The TLS directory cannot be used (message says why)."""


def tls_dir(settings) -> str:
    if settings.tls_dir:
        return os.path.abspath(settings.tls_dir)
    if settings.state_dir:
        return os.path.join(os.path.abspath(settings.state_dir), "tls")
    return os.path.join(user_cache_dir(), "tls")


def names_for(settings) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the server certificate must hold."""
    dns = ["localhost"]
    for region in settings.served_regions():
        dns.extend(ecr_host_names(region))
    dns += ["api.ecr-public.us-east-1.amazonaws.com", "ecr-public.us-east-1.amazonaws.com", "public.ecr.aws"]
    ips = ["127.0.0.1", "::1"]
    host = settings.host
    try:
        address = ipaddress.ip_address(host)
        if not address.is_unspecified and str(address) not in ips:
            ips.append(str(address))
    except ValueError:
        if host and host not in dns:
            dns.append(host)
    return dns, ips


def ensure(settings) -> dict[str, str]:
    """The paths of the CA, certificate and key, made or renewed as needed."""
    directory = tls_dir(settings)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as error:
        raise TlsError(f"cannot create {directory}: {error.strerror}") from None
    paths = {name: os.path.join(directory, name) for name in (CA, CA_KEY, CERT, KEY)}
    try:
        ca_cert, ca_key = _load_or_make_ca(paths)
        if not _cert_is_good(paths, names_for(settings), ca_cert):
            _make_server_cert(paths, names_for(settings), ca_cert, ca_key)
    except OSError as error:
        raise TlsError(f"cannot write the TLS files in {directory}: {error.strerror}") from None
    except ValueError as error:
        raise TlsError(f"unreadable TLS files in {directory} ({error}); remove them to make new ones") from None
    return {"ca": paths[CA], "cert": paths[CERT], "key": paths[KEY], "dir": directory}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path: str, data: bytes, private: bool = False) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_or_make_ca(paths):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    if os.path.exists(paths[CA]) and os.path.exists(paths[CA_KEY]):
        with open(paths[CA], "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(paths[CA_KEY], "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        if cert.not_valid_after_utc - RENEW_BEFORE > _now():
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ecr-emulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "ecr-emulator local CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(paths[CA_KEY], _key_pem(key), private=True)
    _write(paths[CA], cert.public_bytes(serialization.Encoding.PEM))
    for stale in (paths[CERT], paths[KEY]):  # signed by the CA just replaced
        if os.path.exists(stale):
            os.unlink(stale)
    return cert, key


def _cert_is_good(paths, names, ca_cert) -> bool:
    from cryptography import x509

    if not (os.path.exists(paths[CERT]) and os.path.exists(paths[KEY])):
        return False
    with open(paths[CERT], "rb") as f:
        cert = x509.load_pem_x509_certificates(f.read())[0]
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc - RENEW_BEFORE < _now():
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    dns, ips = names
    return set(dns) <= have_dns and set(ips) <= have_ips


def _make_server_cert(paths, names, ca_cert, ca_key) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    dns, ips = names
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ecr-emulator"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(paths[KEY], _key_pem(key), private=True)
    _write(paths[CERT], cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))
