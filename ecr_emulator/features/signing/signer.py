"""The emulator's offline image signer: Notation-style signatures (JWS envelope, ES256)
made with a key of this process, for managed signing (``features/signing/``).

This is **not** AWS Signer: the key and its self-signed X.509 certificate are generated when
the first image is signed and live as long as the process, so signatures verify against that
certificate (carried in the envelope's ``x5c``) and against nothing AWS would trust. The
format follows the Notary Project's JWS signature envelope: an OCI artifact manifest of
``artifactType`` ``application/vnd.cncf.notary.signature`` whose one layer is the
``application/jose+json`` envelope and whose ``subject`` is the signed image.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ... import __version__
from ...store.digests import sha256_digest

NOTATION_SIGNATURE = "application/vnd.cncf.notary.signature"
NOTATION_PAYLOAD = "application/vnd.cncf.notary.payload.v1+json"
JWS = "application/jose+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY_JSON = b"{}"
#: manifest annotation naming the (emulated) AWS Signer profile a signature was made for
PROFILE_ANNOTATION = "dev.ecr-emulator.signing-profile-arn"
THUMBPRINT_ANNOTATION = "io.cncf.notary.x509chain.thumbprint#S256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signature:
    """What :meth:`Signer.sign` makes: the artifact manifest and the blobs it references."""

    manifest: bytes
    envelope: bytes

    @property
    def blobs(self) -> dict[str, bytes]:
        return {sha256_digest(EMPTY_JSON): EMPTY_JSON, sha256_digest(self.envelope): self.envelope}


class Signer:
    """One P-256 key and a self-signed code-signing certificate, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._cert_der = b""

    def _ensure_key(self, now: datetime) -> None:
        with self._lock:
            if self._key is not None:
                return
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ecr-emulator"),
                x509.NameAttribute(NameOID.COMMON_NAME, "ecr-emulator managed signing (not AWS Signer)"),
            ])
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
                    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                    .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                   critical=True)
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
                    .sign(key, hashes.SHA256()))
            self._key, self._cert_der = key, cert.public_bytes(serialization.Encoding.DER)

    @property
    def certificate_der(self) -> bytes:
        return self._cert_der

    def sign(self, subject: dict, profile_arn: str, now: datetime) -> Signature:
        """A signature of the manifest described by ``subject`` (``mediaType``, ``digest``, ``size``)."""
        self._ensure_key(now)
        payload = json.dumps({"targetArtifact": subject}, separators=(",", ":")).encode()
        protected = json.dumps({
            "alg": "ES256", "crit": ["io.cncf.notary.signingScheme"], "cty": NOTATION_PAYLOAD,
            "io.cncf.notary.signingScheme": "notary.x509",
            "io.cncf.notary.signingTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }, separators=(",", ":")).encode()
        signing_input = f"{_b64url(protected)}.{_b64url(payload)}".encode("ascii")
        r, s = decode_dss_signature(self._key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        envelope = json.dumps({
            "payload": _b64url(payload), "protected": _b64url(protected),
            "header": {"x5c": [base64.b64encode(self._cert_der).decode("ascii")],
                       "io.cncf.notary.signingAgent": f"ecr-emulator/{__version__}"},
            "signature": _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
        }, separators=(",", ":")).encode()
        thumbprint = hashlib.sha256(self._cert_der).hexdigest()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": NOTATION_SIGNATURE,
            "config": {"mediaType": OCI_EMPTY, "digest": sha256_digest(EMPTY_JSON), "size": len(EMPTY_JSON)},
            "layers": [{"mediaType": JWS, "digest": sha256_digest(envelope), "size": len(envelope)}],
            "subject": subject,
            "annotations": {THUMBPRINT_ANNOTATION: json.dumps([thumbprint]), PROFILE_ANNOTATION: profile_arn,
                            "org.opencontainers.image.created": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }, separators=(",", ":")).encode()
        return Signature(manifest, envelope)


def verify(envelope: bytes) -> dict:
    """Check a JWS envelope's signature against its own ``x5c`` certificate; returns the payload.
    Raises ``ValueError`` when it does not verify."""
    data = json.loads(envelope)
    cert = x509.load_der_x509_certificate(base64.b64decode(data["header"]["x5c"][0]))
    raw = _unb64url(data["signature"])
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    signing_input = f"{data['protected']}.{data['payload']}".encode("ascii")
    try:
        cert.public_key().verify(signature, signing_input, ec.ECDSA(hashes.SHA256()))
    except Exception as error:  # noqa: BLE001 -- InvalidSignature and key-type errors alike
        raise ValueError("the signature does not verify") from error
    return json.loads(_unb64url(data["payload"]))
