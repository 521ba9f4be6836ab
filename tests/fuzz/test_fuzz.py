"""Property-based fuzzing: requests for every control-plane operation of both models, drawn
from botocore's input shapes (valid and invalid), and malformed registry requests.

Properties: never a 5xx other than 501 NotImplementedException; every AWS answer is valid
against the operation's output shape or names an error it may return
(:func:`~ecr_emulator.testing.contract.check_response`); every registry error is the OCI form
with a code of the table. Fixed seed (``derandomize``) and a fixed budget, so CI runs the same
requests every time in well under a minute; ``FUZZ_EXAMPLES`` raises the budget by hand.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecr_emulator.awsjson import load_service
from ecr_emulator.registry.oci_errors import ERRORS
from ecr_emulator.testing.contract import check_response
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry, authorization_token
from .strategies import body_for, registry_request

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
SERVICES = {"ecr": "123456789012", "ecr-public": "123456789012"}


def _operations():
    for service in ("ecr", "ecr-public"):
        model = load_service(service).model
        for name in model.operation_names:
            yield pytest.param(service, name, id=f"{service}:{name}")


@pytest.fixture
def seeded(url, ecr, make_client):
    """A repository with an image in each service, so valid requests do real work."""
    registry = Registry(url, authorization_token(ecr))
    ecr.create_repository(repositoryName="fuzz/app")
    registry.push_image("fuzz/app", make_image("fuzz"), "v1")
    make_client("ecr-public").create_repository(repositoryName="fuzz/app")
    return url


@pytest.mark.parametrize("service,operation", list(_operations()))
def test_control_plane_operation(seeded, service, operation):
    loaded = load_service(service)
    op_model = loaded.model.operation_model(operation)
    target = f"{loaded.target_prefix}.{operation}"
    session = requests.Session()

    @FUZZ
    @given(body=body_for(op_model), region=_regions(service), account=_accounts())
    def run(body, region, account):
        response = session.post(seeded + "/", data=body, timeout=60, headers={
            "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        assert response.status_code < 500 or response.status_code == 501, (response.status_code, response.text)
        check_response(op_model, response.status_code, response.content)

    run()


def test_registry_requests(seeded, ecr):
    registry = Registry(seeded, authorization_token(ecr))

    @settings(FUZZ, max_examples=EXAMPLES * 25)
    @given(request=registry_request())
    def run(request):
        # header values go as raw UTF-8 bytes (lone surrogates too), as a broken client sends them;
        # control characters are left out: HTTP framing forbids them and the server refuses them itself
        headers = {k: "".join(c for c in v if c >= " " and c != "\x7f").strip().encode("utf-8", "surrogatepass")
                   for k, v in request["headers"].items()}
        query = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in request["query"].items())
        response = registry.session.request(request["method"], seeded + request["path"] + (f"?{query}" if query else ""),
                                            headers=headers, data=request["body"], timeout=60,
                                            allow_redirects=False)
        assert response.status_code < 500, (request, response.status_code, response.text)
        # (a path the client normalized out of /v2/, "/v2/../x", is not the registry's)
        if response.status_code >= 400 and request["method"] != "HEAD" and urlsplit(response.url).path.startswith("/v2"):
            errors = response.json()["errors"]
            assert len(errors) == 1 and errors[0]["code"] in ERRORS and errors[0]["message"], response.text

    run()


def _mostly(usual: str, others: list[str]) -> st.SearchStrategy[str]:
    """``usual`` 9 times in 10 (where the seeded data is), else one of ``others``."""
    return st.integers(0, 9).flatmap(lambda i: st.sampled_from(others) if i == 0 else st.just(usual))


def _regions(service):
    return _mostly("us-east-1", ["eu-west-1", "mars", "<b>", "a" * 300])


def _accounts():
    return _mostly("123456789012", ["210987654321", "AKIAEXAMPLE"])
