"""The pull-through client's answer to an upstream's ``WWW-Authenticate`` challenge: where it
fetches the token (realm, service, scope) and what it refuses, without a network."""

from __future__ import annotations

import io
import json
import urllib.parse

import pytest

from ecr_emulator.features.pull_through.client import Upstream
from ecr_emulator.store.pull_through import UpstreamError


class _TokenService:
    def __init__(self):
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, url, headers, authorization):
        self.asked.append((url, authorization))
        return io.BytesIO(json.dumps({"token": "t0k"}).encode())


def _answer(challenge, scope="repository:library/alpine:pull", **credentials):
    upstream = Upstream("https://registry.example", **credentials)
    upstream._open = tokens = _TokenService()
    return upstream._answer(challenge, scope, "https://registry.example/v2/"), tokens.asked


def _query(url):
    base, _, query = url.partition("?")
    return base, dict(urllib.parse.parse_qsl(query))


@pytest.mark.parametrize("challenge", [
    'Bearer realm="https://auth.example/token",service="registry.example"',
    ' bearer realm="https://auth.example/token", service="registry.example", scope="repository:x:pull,push"',
    'Bearer Realm=https://auth.example/token,Service=registry.example',
])
def test_a_bearer_challenge_fetches_a_token_from_its_realm(challenge):
    authorization, [(url, basic)] = _answer(challenge)
    assert authorization == "Bearer t0k" and basic is None
    assert _query(url) == ("https://auth.example/token",
                           {"service": "registry.example", "scope": "repository:library/alpine:pull"})


def test_the_challenge_s_scope_is_used_for_the_ping_and_quoted_escapes_are_read():
    _, [(url, _)] = _answer('Bearer realm="https://auth.example/t?x=\\"1\\"",scope="registry:catalog:*",service',
                            scope="")
    assert _query(url) == ("https://auth.example/t", {"x": '"1"', "scope": "registry:catalog:*"})


def test_credentials_go_to_the_token_service_and_answer_a_basic_challenge():
    _, [(_, basic)] = _answer('Bearer realm="https://auth.example/token"', username="u", password="p")
    assert basic == "Basic dTpw"
    assert _answer('Basic realm="upstream"', username="u", password="p") == ("Basic dTpw", [])


@pytest.mark.parametrize("challenge, message", [
    ('Basic realm="upstream"', "requires credentials and the rule has none"),
    ("", "asked for unsupported authentication ''"),
    ('Negotiate', "asked for unsupported authentication 'Negotiate'"),
    ("Bearer", "Bearer challenge names no realm"),
    ('Bearer realm=""', "Bearer challenge names no realm"),
    ("Bearer sometoken", "Bearer challenge names no realm"),
])
def test_what_cannot_be_answered_is_access_denied(challenge, message):
    with pytest.raises(UpstreamError) as info:
        _answer(challenge)
    assert info.value.code == "UpstreamAccessDenied" and message in info.value.message
