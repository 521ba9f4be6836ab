"""Managed signatures checked without the emulator's own verifier: the Notation JWS envelope is
taken apart here, with ``cryptography`` alone, as a Notary Project verifier would (RFC 7515 JWS
JSON serialization, ES256 = ECDSA P-256 over SHA-256 with a raw 64-byte r||s signature, RFC 7518
section 3.4), and every claim the envelope makes is checked against the image as pulled."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..registry.client import Registry, authorization_token
from .helpers import push, settled_statuses

PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/ci_profile"
NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"  # spelled out: not imported from the emulator


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_es256(certificate: x509.Certificate, signing_input: bytes, raw_signature: bytes) -> None:
    assert len(raw_signature) == 64, "ES256 signatures are r||s, 32 bytes each"
    der = encode_dss_signature(int.from_bytes(raw_signature[:32], "big"), int.from_bytes(raw_signature[32:], "big"))
    certificate.public_key().verify(der, signing_input, ec.ECDSA(hashes.SHA256()))


def verify_envelope(envelope: bytes, trusted: x509.Certificate | None = None) -> tuple[dict, dict, x509.Certificate]:
    """(protected header, payload, leaf certificate) of a Notation JWS envelope that verifies."""
    jws = json.loads(envelope)
    protected = json.loads(b64url_decode(jws["protected"]))
    assert protected["alg"] == "ES256"
    assert protected["cty"] == "application/vnd.cncf.notary.payload.v1+json"
    assert protected["io.cncf.notary.signingScheme"] == "notary.x509"
    # every critical header is one the verifier understands, and is present
    assert set(protected["crit"]) <= {"io.cncf.notary.signingScheme", "io.cncf.notary.expiry",
                                      "io.cncf.notary.authenticSigningTime"}
    assert all(name in protected for name in protected["crit"])
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in jws["header"]["x5c"]]
    leaf = chain[0]
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CODE_SIGNING in usage
    # the chain: each certificate is signed by the next, and the last by itself (the root)
    for child, parent in zip(chain, chain[1:] + chain[-1:], strict=True):
        assert child.issuer == parent.subject
        parent.public_key().verify(child.signature, child.tbs_certificate_bytes,
                                   ec.ECDSA(child.signature_hash_algorithm))
    if trusted is not None:
        assert chain[-1] == trusted, "the chain does not end at the trusted root"
    signing_input = f"{jws['protected']}.{jws['payload']}".encode("ascii")
    verify_es256(leaf, signing_input, b64url_decode(jws["signature"]))
    return protected, json.loads(b64url_decode(jws["payload"])), leaf


def test_notation_envelopes_verify_independently(url, ecr):
    ecr.create_repository(repositoryName="team/app")
    ecr.put_signing_configuration(signingConfiguration={"rules": [{"signingProfileArn": PROFILE}]})
    image = push(url, ecr, "team/app", "independently-verified")
    second = push(url, ecr, "team/app", "independently-verified-2", tag="v2")
    for tag in ("v1", "v2"):
        assert settled_statuses(ecr, "team/app", {"imageTag": tag}, key="signingStatuses")[0]["status"] == "COMPLETE"
    registry = Registry(url, authorization_token(ecr))
    roots = []
    for pushed in (image, second):
        # the image as a client pulls it: its digest is computed here, from its bytes
        manifest = registry.get(f"/v2/team/app/manifests/{pushed.digest}", headers={"Accept": pushed.media_type})
        digest = "sha256:" + hashlib.sha256(manifest.content).hexdigest()
        assert digest == pushed.digest
        index = registry.get(f"/v2/team/app/referrers/{digest}").json()
        (descriptor,) = [m for m in index["manifests"] if m.get("artifactType") == NOTARY_SIGNATURE]
        signature = registry.get(f"/v2/team/app/manifests/{descriptor['digest']}",
                                 headers={"Accept": descriptor["mediaType"]}).json()
        assert signature["subject"] == {"mediaType": pushed.media_type, "digest": digest, "size": len(manifest.content)}
        (layer,) = signature["layers"]
        envelope = registry.get(f"/v2/team/app/blobs/{layer['digest']}").content
        assert "sha256:" + hashlib.sha256(envelope).hexdigest() == layer["digest"]
        protected, payload, leaf = verify_envelope(envelope)
        # what was signed is this image
        assert payload == {"targetArtifact": {"mediaType": pushed.media_type, "digest": digest,
                                              "size": len(manifest.content)}}
        # Notation finds the trust anchor by the thumbprint annotation: it names the certificate
        thumbprints = json.loads(signature["annotations"]["io.cncf.notary.x509chain.thumbprint#S256"])
        chain = json.loads(envelope)["header"]["x5c"]
        assert thumbprints == [hashlib.sha256(base64.b64decode(c)).hexdigest() for c in chain]
        roots.append(leaf)
    # one signing identity for the emulator: the second envelope verifies against the first's root
    assert roots[0] == roots[1]


def test_a_tampered_envelope_does_not_verify(url, ecr):
    ecr.create_repository(repositoryName="team/app")
    ecr.put_signing_configuration(signingConfiguration={"rules": [{"signingProfileArn": PROFILE}]})
    image = push(url, ecr, "team/app", "tampered")
    settled_statuses(ecr, "team/app", {"imageTag": "v1"}, key="signingStatuses")
    registry = Registry(url, authorization_token(ecr))
    (descriptor,) = registry.get(f"/v2/team/app/referrers/{image.digest}").json()["manifests"]
    signature = registry.get(f"/v2/team/app/manifests/{descriptor['digest']}",
                             headers={"Accept": descriptor["mediaType"]}).json()
    envelope = json.loads(registry.get(f"/v2/team/app/blobs/{signature['layers'][0]['digest']}").content)
    verify_envelope(json.dumps(envelope).encode())  # untouched: verifies
    other = dict(envelope, payload=base64.urlsafe_b64encode(json.dumps(
        {"targetArtifact": {"digest": "sha256:" + "0" * 64}}).encode()).rstrip(b"=").decode())
    raw = bytearray(b64url_decode(envelope["signature"]))
    raw[5] ^= 1
    flipped = dict(envelope, signature=base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())
    for bad in (other, flipped):
        try:
            verify_envelope(json.dumps(bad).encode())
        except InvalidSignature:
            continue
        raise AssertionError("a tampered envelope verified")
