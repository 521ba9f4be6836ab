"""The one pattern of ECR registry host names (``addressing.partitions``): what the registry,
the app's routing, the admin guard, the credential helper and pull-through rules recognise."""

from __future__ import annotations

import pytest

from ecr_emulator.addressing.partitions import ECR_HOST, ECR_HOST_NAME, ecr_host, parse_ecr_host


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
