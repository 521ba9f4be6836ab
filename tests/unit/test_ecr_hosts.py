"""The one pattern of each kind of AWS host name (``addressing.partitions``): ECR registry hosts,
which the registry, the app's routing, the admin guard, the credential helper and pull-through
rules recognise; ECR's and ECR Public's API hosts, which the admin guard, the control plane's
registry addresses and ECR Public's registry address recognise."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ecr_emulator.addressing.ecr_public import public_host
from ecr_emulator.addressing.partitions import (
    ECR_HOST,
    ECR_HOST_NAME,
    ApiHost,
    ecr_host,
    ecr_host_names,
    parse_api_host,
    parse_ecr_host,
)


@pytest.mark.parametrize("host, expected", [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", ("123456789012", "us-east-1")),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ("123456789012", "cn-north-1")),
    ("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", ("123456789012", "us-gov-west-1")),
    ("123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com", ("123456789012", "us-gov-east-1")),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com:5000", ("123456789012", "eu-west-1")),
    ("123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn:443", ("123456789012", "cn-northwest-1")),
    ("123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM", ("123456789012", "us-east-1")),
])
def test_registry_hosts_are_recognised(host, expected):
    assert parse_ecr_host(host) == expected


@pytest.mark.parametrize("host", [
    "",
    "localhost:5000",
    "12345678901.dkr.ecr.us-east-1.amazonaws.com",  # 11 digits
    "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
    "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "123456789012.dkr.ecr.us-east-1.amazonaws.cn",
    "123456789012.dkr.ecr..amazonaws.com",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com:",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com:http",
    "api.ecr.us-east-1.amazonaws.com",
    "public.ecr.aws",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com\n",
])
def test_garbage_is_refused(host):
    assert parse_ecr_host(host) is None


def test_the_bare_name_pattern_takes_no_port():
    """Pull-through upstream URLs and the admin guard (which strips the port) match the name alone."""
    assert ECR_HOST_NAME.match("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert not ECR_HOST_NAME.match("123456789012.dkr.ecr.us-east-1.amazonaws.com:5000")
    assert ECR_HOST.match("123456789012.dkr.ecr.us-east-1.amazonaws.com:5000")


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "us-gov-west-1", "eu-central-1"])
@pytest.mark.parametrize("fips", [False, True])
def test_every_host_ecr_host_builds_is_recognised(region, fips):
    assert parse_ecr_host(ecr_host("123456789012", region, fips=fips)) == ("123456789012", region)


# -- AWS's API host names: one pattern per kind (ECR's, ECR Public's), all consumers use it -----

@pytest.mark.parametrize("host, expected", [
    ("api.ecr.us-east-1.amazonaws.com", ApiHost("ecr", "us-east-1", None)),
    ("ecr.eu-west-1.amazonaws.com", ApiHost("ecr", "eu-west-1", None)),
    ("api.ecr.cn-north-1.amazonaws.com.cn", ApiHost("ecr", "cn-north-1", None)),
    ("ecr.cn-northwest-1.amazonaws.com.cn:8443", ApiHost("ecr", "cn-northwest-1", "8443")),
    ("api.ecr.us-gov-west-1.amazonaws.com", ApiHost("ecr", "us-gov-west-1", None)),
    ("ecr-fips.us-gov-east-1.amazonaws.com", ApiHost("ecr", "us-gov-east-1", None)),
    ("api.ecr-fips.us-east-2.amazonaws.com:443", ApiHost("ecr", "us-east-2", "443")),
    ("api.ecr.us-east-1.amazonaws.com:5000", ApiHost("ecr", "us-east-1", "5000")),
    ("API.ECR.US-EAST-1.AMAZONAWS.COM:5000", ApiHost("ecr", "us-east-1", "5000")),
    ("api.ecr-public.us-east-1.amazonaws.com", ApiHost("ecr-public", "us-east-1", None)),
    ("ecr-public.us-east-1.amazonaws.com:5000", ApiHost("ecr-public", "us-east-1", "5000")),
    ("Api.Ecr-Public.Us-East-1.AmazonAWS.com", ApiHost("ecr-public", "us-east-1", None)),
    ("api.ecr-public.cn-north-1.amazonaws.com.cn", ApiHost("ecr-public", "cn-north-1", None)),
])
def test_api_hosts_are_recognised(host, expected):
    assert parse_api_host(host) == expected


@pytest.mark.parametrize("host", [
    "",
    "localhost:5000",
    "amazonaws.com",
    "api.ecr.amazonaws.com",
    "api.ecr..amazonaws.com",
    "api.ecr.us-east-1.amazonaws.cn",
    "api.ecr.us-east-1.amazonaws.com.evil.example",
    "api.ecr.us-east-1.amazonaws.com.cn.evil.example",
    "evil.example/api.ecr.us-east-1.amazonaws.com",
    "evilapi.ecr.us-east-1.amazonaws.com",
    "api.ecr-private.us-east-1.amazonaws.com",
    "api.ecr.us_east_1.amazonaws.com",
    "api.ecr.us-east-1.amazonaws.com:",
    "api.ecr.us-east-1.amazonaws.com:http",
    "api.ecr.us-east-1.amazonaws.com:5000:6000",
    "api.ecr.us-east-1.amazonaws.com\n",
    "api.ecr-public.us-east-1.amazonaws.com\n",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "public.ecr.aws",
    "ecr.us-east-1.api.aws",  # dual-stack and ECR Public's FIPS names are not taken (nor were they)
    "api.ecr-public-fips.us-east-1.amazonaws.com",
])
def test_api_garbage_is_refused(host):
    assert parse_api_host(host) is None


@pytest.mark.parametrize("port, suffix", [(None, ""), ("443", ""), ("5000", ":5000"), ("80", ":80")])
def test_an_api_hosts_port_is_kept_unless_https_own(port, suffix):
    assert ApiHost("ecr", "us-east-1", port).port_suffix == suffix


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "us-gov-west-1"])
def test_the_api_names_of_the_certificate_are_recognised(region):
    api_names = [name for name in ecr_host_names(region) if not name.startswith("*.")]
    assert api_names and all(parse_api_host(name) == ApiHost("ecr", region, None) for name in api_names)


def _settings(**fields):
    return SimpleNamespace(host="127.0.0.1", allowed_host_names=lambda: [], uri_style="local",
                           effective_public_port=5001, **fields)


@pytest.mark.parametrize("host, own", [
    ("api.ecr.us-east-1.amazonaws.com:5000", True),
    ("API.ECR.CN-NORTH-1.AMAZONAWS.COM.CN", True),
    ("api.ecr-public.us-east-1.amazonaws.com", True),
    ("ecr-fips.us-gov-west-1.amazonaws.com.", True),
    ("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com:443", True),
    ("api.ecr.us-east-1.amazonaws.com.evil.example", False),
    ("evil.example", False),
])
def test_the_admin_guard_takes_aws_host_names(host, own):
    from ecr_emulator.runtime.admin import is_own_host

    assert is_own_host(host, _settings()) is own


@pytest.mark.parametrize("host, region, expected", [
    ("api.ecr.us-east-1.amazonaws.com", "us-east-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
    ("api.ecr.us-east-1.amazonaws.com:5000", "us-east-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com:5000"),
    ("api.ecr.cn-north-1.amazonaws.com.cn:443", "cn-north-1", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
    ("API.ECR.US-GOV-WEST-1.AMAZONAWS.COM:5000", "us-gov-west-1",
     "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com:5000"),
    ("api.ecr-public.us-east-1.amazonaws.com:5000", "us-east-1", "api.ecr-public.us-east-1.amazonaws.com:5000"),
    ("localhost:5000", "us-east-1", "localhost:5000"),
])
def test_the_registry_address_follows_the_api_host(host, region, expected):
    """Under ECR's API host name the registry is under ECR's registry host name, on the port the
    client used; under any other name, the name the client used."""
    from ecr_emulator.control.context import RequestContext

    context = SimpleNamespace(settings=_settings(), host=host)
    assert RequestContext.registry_host(context, "123456789012", region) == expected


@pytest.mark.parametrize("host, expected", [
    ("api.ecr-public.us-east-1.amazonaws.com", "public.ecr.aws"),
    ("api.ecr-public.us-east-1.amazonaws.com:443", "public.ecr.aws"),
    ("ECR-PUBLIC.US-EAST-1.AMAZONAWS.COM:5000", "public.ecr.aws:5000"),
    ("api.ecr.us-east-1.amazonaws.com:5000", "api.ecr.us-east-1.amazonaws.com:5001"),
    ("localhost:5000", "localhost:5001"),
])
def test_the_public_registry_address_follows_the_public_api_host(host, expected):
    assert public_host(_settings(), host, [], on_public_listener=False) == expected
