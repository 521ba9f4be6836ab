"""The SigV4 verifier of signed mode, without a server: requests signed by botocore (as every
SDK signs) verify, and what the client did not sign as sent does not."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from ecr_emulator.awsjson.aws_error import InvalidSignatureException
from ecr_emulator.awsjson.signatures import MISMATCH, Credential, SignatureVerifier

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
VERIFIER = SignatureVerifier({"AKIDEXAMPLE": Credential("AKIDEXAMPLE", "secret", "444455556666")})


def _signed(path="/", query="", body=b'{"repositoryNames":["a"]}', secret="secret", sent_body=None, **headers):
    """A werkzeug request as botocore signs it (``sent_body``: what goes out instead of ``body``)."""
    headers = {"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
               "Content-Type": "application/x-amz-json-1.1", **headers}
    url = "http://localhost:5000" + path + (f"?{query}" if query else "")
    signed = AWSRequest("POST", url, headers=headers, data=body)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(Credentials("AKIDEXAMPLE", secret), "ecr", "eu-west-1").add_auth(signed)
    environ = EnvironBuilder(method="POST", base_url="http://localhost:5000", path=path, query_string=query,
                             headers=dict(signed.headers.items()),
                             data=body if sent_body is None else sent_body).get_environ()
    return Request(environ)


def _verify(request):
    return VERIFIER.verify(request, request.get_data(), NOW)


@pytest.mark.parametrize("path, query, headers", [
    ("/", "", {}),
    ("/", "b=2&a=1&a=0&sp=a%20b&plus=%2B", {"X-Extra": "  spaced   out  "}),
    ("/prefix/x~y-z_.", "", {"X-Amz-Security-Token-Not": "x"}),
])
def test_a_request_signed_by_botocore_verifies(path, query, headers):
    caller = _verify(_signed(path, query, **headers))
    assert (caller.account, caller.region, caller.access_key) == ("444455556666", "eu-west-1", "AKIDEXAMPLE")


@pytest.mark.parametrize("change", [
    {"secret": "wrong"},
    {"sent_body": b'{"repositoryNames":["b"]}'},
    # a client-declared payload hash does not stand in for the body
    {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
])
def test_what_was_not_signed_as_sent_is_a_mismatch(change):
    with pytest.raises(InvalidSignatureException) as info:
        _verify(_signed(**change))
    assert info.value.message == MISMATCH


def test_a_signed_header_changed_in_transit_is_a_mismatch():
    environ = _signed(**{"X-Extra": "one"}).environ
    environ["HTTP_X_EXTRA"] = "two"
    with pytest.raises(InvalidSignatureException):
        _verify(Request(environ))
