"""Hypothesis strategies for requests: AWS JSON bodies drawn from botocore input shapes (valid
and invalid), and malformed OCI registry requests."""

from __future__ import annotations

import base64
import json
import re

from botocore.model import Shape
from hypothesis import strategies as st

#: a few names that exist (set up by the tests) so valid requests reach the handlers' real work
KNOWN = {
    "repositoryName": ["fuzz/app", "fuzz/missing"],
    "registryId": ["123456789012", "210987654321"],
    "imageTag": ["v1", "latest"],
}
ODD = ["\ud800", "\udfff", "a\udc00b", "\x00", "é", "☃", "<script>", " ", "*", "../", "%00"]
MAX_DEPTH = 6


def odd_text(max_size: int = 20) -> st.SearchStrategy[str]:
    """Text that includes lone surrogates, NULs and other characters clients get wrong."""
    return st.lists(st.one_of(st.text(max_size=4), st.sampled_from(ODD)), max_size=max(1, max_size // 4)).map("".join)


def wrong_type() -> st.SearchStrategy:
    return st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), odd_text(),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _regex(pattern: str) -> st.SearchStrategy[str] | None:
    try:
        re.compile(pattern)
        return st.from_regex(pattern, fullmatch=True)
    except Exception:  # noqa: BLE001 -- a pattern hypothesis cannot generate from
        return None


def value_for(shape: Shape, name: str = "", depth: int = 0) -> st.SearchStrategy:
    """Mostly (9 in 10) well-typed values for ``shape`` (valid or breaking its constraints),
    else a value of another JSON type."""
    if not depth:
        return _typed(shape, name, depth)
    typed, wrong = _typed(shape, name, depth), wrong_type()
    return st.integers(0, 9).flatmap(lambda i: wrong if i == 0 else typed)


def manifests() -> st.SearchStrategy[str]:
    """Manifests near the seeded image's: intact, with odd annotation text (lone surrogate
    escapes too), another media type, NaN, a BOM, or a layer the repository lacks."""
    from ecr_emulator.testing.synthetic import make_image

    image = make_image("fuzz")
    doc = json.loads(image.manifest)

    def annotated(text: str) -> str:
        return json.dumps(dict(doc, annotations={"k": text}))

    return st.one_of(
        st.just(image.manifest.decode()),
        odd_text(12).map(annotated),
        st.sampled_from(["text/plain", "application/json", "", "application/vnd.oci.image.index.v1+json",
                         "application/vnd.docker.distribution.manifest.v1+json"]).map(
            lambda t: json.dumps(dict(doc, mediaType=t))),
        st.just(image.manifest.decode().replace('"schemaVersion": 2', '"schemaVersion": NaN')),
        st.just("\ufeff" + image.manifest.decode()),
        st.just(json.dumps(dict(doc, layers=doc["layers"] + [dict(doc["layers"][0], digest="sha256:" + "1" * 64)]))),
        st.just(json.dumps(dict(doc, config=dict(doc["config"], size=-1)))),
    )


def _typed(shape: Shape, name: str, depth: int) -> st.SearchStrategy:
    kind, meta = shape.type_name, shape.metadata
    if depth > MAX_DEPTH:
        return st.none()
    if kind == "structure":
        members = shape.members
        required = {m: value_for(members[m], m, depth + 1) for m in shape.required_members if m in members}
        optional = {m: value_for(s, m, depth + 1) for m, s in members.items() if m not in required}
        base = st.fixed_dictionaries(required, optional=optional)
        # sometimes a required member is left out, or an unknown one is added
        return st.one_of(
            base,
            base.flatmap(lambda d: st.sampled_from(sorted(d) or [""]).map(lambda k: {x: v for x, v in d.items() if x != k})),
            base.map(lambda d: {**d, "unknownMember": 1}),
        )
    if kind == "list":
        top = min(meta.get("max", 4), 4)
        return st.lists(value_for(shape.member, name, depth + 1), max_size=top + 1)
    if kind == "map":
        return st.dictionaries(odd_text(10), value_for(shape.value, name, depth + 1), max_size=3)
    if kind == "string":
        options = [odd_text(meta.get("max", 20) + 2)]
        if shape.enum:
            options.append(st.sampled_from(shape.enum))
        if name == "imageManifest":
            options = [manifests(), manifests(), *options]
        if meta.get("pattern"):
            regex = _regex(meta["pattern"])
            if regex is not None:
                options.append(regex)
        if "max" in meta:
            options.append(st.just("a" * (meta["max"] + 1)))
        if name in KNOWN:  # half the time a name that exists, so the request gets past validation
            known = st.sampled_from(KNOWN[name])
            return st.integers(0, 1).flatmap(lambda i, rest=st.one_of(options): known if i else rest)
        return st.one_of(options)
    if kind in ("integer", "long"):
        low, high = meta.get("min"), meta.get("max")
        edges = [v for v in (low, high) if v is not None]
        edges += [v - 1 for v in edges] + [v + 1 for v in edges] + [0, -1, 10 ** 30]
        return st.one_of(st.integers(min_value=low, max_value=high), st.sampled_from(edges))
    if kind in ("double", "float"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.one_of(st.integers(min_value=-(10 ** 20), max_value=10 ** 20), st.floats(allow_nan=False),
                         odd_text(), st.just("2026-01-01T00:00:00"), st.just("9999-12-31T23:59:59Z"))
    if kind == "blob":
        return st.one_of(st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()), odd_text())
    return st.none()


def body_for(operation) -> st.SearchStrategy[bytes]:
    """A request body: a JSON object from the input shape, or malformed bytes."""
    shape = operation.input_shape
    document = _typed(shape, "", 0) if shape is not None else st.just({})
    return st.one_of(
        document.map(lambda d: json.dumps(d).encode()),
        document.map(lambda d: json.dumps(d).encode()),
        document.map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=64),
        st.sampled_from([b"", b"null", b"[]", b'"x"', b"{", b'{"a": NaN}', b"\xef\xbb\xbf{}", b"1e999999"]),
    )


# -- the registry ----------------------------------------------------------------------------

_SEGMENTS = ["fuzz/app", "fuzz/missing", "FUZZ", "a", "fuzz//app", "..", "_catalog", "%00", "%FF", "%C3%A9"]
_REFERENCES = ["v1", "latest", "-bad", "sha256:" + "0" * 64, "sha256:short", "sha512:" + "a" * 128,
               "a" * 300, "%E2%98%83", "%ED%A0%80", "9" * 400]


def registry_request() -> st.SearchStrategy[dict]:
    name = st.sampled_from(_SEGMENTS)
    ref = st.one_of(st.sampled_from(_REFERENCES), st.text("abcxyz:0123456789-._", max_size=80))
    path = st.one_of(
        st.just("/v2/"),
        st.just("/v2/_catalog"),
        st.builds(lambda n: f"/v2/{n}/tags/list", name),
        st.builds(lambda n, r: f"/v2/{n}/manifests/{r}", name, ref),
        st.builds(lambda n, r: f"/v2/{n}/blobs/{r}", name, ref),
        st.builds(lambda n: f"/v2/{n}/blobs/uploads/", name),
        st.builds(lambda n, r: f"/v2/{n}/blobs/uploads/{r}", name, ref),
        st.builds(lambda n, r: f"/v2/{n}/referrers/{r}", name, ref),
    )
    # (a request line or header longer than the server's 8190-byte limits is its own 414/431)
    number = st.one_of(st.integers(min_value=-5, max_value=2000).map(str), st.just("9" * 1200), odd_text(6))
    query = st.dictionaries(st.sampled_from(["n", "last", "digest", "mount", "from", "artifactType"]),
                            st.one_of(number, st.sampled_from(_REFERENCES), st.sampled_from(_SEGMENTS)), max_size=3)
    headers = st.fixed_dictionaries({}, optional={
        "Range": st.one_of(st.builds(lambda a, b: f"bytes={a}-{b}", number, number), odd_text(10),
                           st.just("bytes=" + "9" * 4400 + "-"), st.just("bytes=-" + "9" * 4400)),
        "Content-Range": st.one_of(st.builds(lambda a, b: f"{a}-{b}", number, number), odd_text(10)),
        "Content-Type": st.sampled_from(["application/vnd.oci.image.manifest.v1+json", "application/json",
                                         "text/plain", "", "application/vnd.oci.image.index.v1+json"]),
        "Accept": st.sampled_from(["*/*", "text/plain", "application/vnd.oci.image.index.v1+json", ",,,"]),
        "Authorization": st.sampled_from(["Basic", "Basic !!!", "Bearer x", "Basic QVdTOg==",
                                          "Basic " + base64.b64encode(b"AWS:a.b").decode()]),
    })
    body = st.one_of(st.just(b""), st.binary(max_size=128),
                     st.sampled_from([b"{}", b'{"schemaVersion": 2}', b"\xef\xbb\xbf{}", b'{"a": NaN}',
                                      b'{"schemaVersion": 2, "mediaType": "text/plain", "config": {}, "layers": []}']))
    method = st.sampled_from(["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"])
    return st.fixed_dictionaries({"method": method, "path": path, "query": query, "headers": headers, "body": body})
