"""AWS partitions: which regions exist, and each region's ARN partition and DNS suffix.

One source, botocore's own partition data (``botocore/data/partitions.json``, the file its
endpoint rules resolve host names with), so a region AWS adds reaches the emulator with a
botocore upgrade instead of an edit here. Every ARN the emulator builds goes through
:func:`arn`, and every ECR host name through :func:`ecr_host` (and is recognised by
:func:`parse_ecr_host`, the one pattern of registry hosts): ``cn-north-1`` answers
``arn:aws-cn:...`` and ``<account>.dkr.ecr.cn-north-1.amazonaws.com.cn``, ``us-gov-west-1``
``arn:aws-us-gov:...`` under ``amazonaws.com``. AWS's API host names (ECR's, ECR Public's),
which clients are pointed here under, are recognised here too (:func:`parse_api_host`): one
pattern per kind of host, all with the same ``.amazonaws.com[.cn]`` end and optional port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple


@dataclass(frozen=True)
class Partition:
    #: ``aws``, ``aws-cn``, ``aws-us-gov``... (the ARN's second part)
    name: str
    #: ``amazonaws.com``, ``amazonaws.com.cn``...
    dns_suffix: str
    region_regex: str
    regions: frozenset[str]


@lru_cache(maxsize=1)
def partitions() -> tuple[Partition, ...]:
    """Botocore's partitions, in its order (``aws`` first)."""
    from botocore.loaders import create_loader

    data = create_loader().load_data("partitions")
    result = []
    for item in data["partitions"]:
        regex = item["regionRegex"]
        # the pseudo-regions ``aws-global``, ``aws-cn-global``... are endpoint aliases, not regions
        regions = frozenset(name for name in item.get("regions", {}) if re.match(regex, name))
        result.append(Partition(item["id"], item["outputs"]["dnsSuffix"], regex, regions))
    return tuple(result)


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region botocore's partition data names."""
    return frozenset().union(*(p.regions for p in partitions()))


@lru_cache(maxsize=256)
def partition_of(region: str) -> Partition:
    """The partition of ``region``: the one that lists it, else the first whose region pattern
    matches it (a region added with ``--extra-region``), else ``aws`` -- as botocore resolves."""
    for partition in partitions():
        if region in partition.regions:
            return partition
    for partition in partitions():
        if re.match(partition.region_regex, region):
            return partition
    return next(p for p in partitions() if p.name == "aws")


def arn(service: str, region: str, account: str, resource: str, *, partition_region: str | None = None) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource>``. Global services (IAM, ECR
    Public) leave ``region`` empty and name the region that decides the partition in
    ``partition_region`` (the caller's)."""
    partition = partition_of(region or partition_region or "us-east-1").name
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def root_arn(account: str, region: str | None = None) -> str:
    """The account's root identity, in the partition of ``region``."""
    return arn("iam", "", account, "root", partition_region=region)


def dns_suffix(region: str) -> str:
    return partition_of(region).dns_suffix


def ecr_host(account: str, region: str, *, fips: bool = False) -> str:
    """The private registry's host name: ``<account>.dkr.ecr[-fips].<region>.<dns suffix>``."""
    return f"{account}.dkr.ecr{'-fips' if fips else ''}.{region}.{dns_suffix(region)}"


#: the end of every AWS host name the emulator recognises: ``.<region>.amazonaws.com``, or
#: China's ``.amazonaws.com.cn`` (``region`` group)
_AWS_DOMAIN = r"\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
#: an optional ``:port`` (``port`` group: its digits)
_PORT = r"(?::(?P<port>[0-9]+))?"
#: a private registry's host name, as :func:`ecr_host` builds it (any region's, under
#: ``amazonaws.com`` or ``amazonaws.com.cn``, FIPS or not); ``account`` and ``region`` groups
_ECR_HOST_NAME = rf"(?P<account>[0-9]{{12}})\.dkr\.ecr(?:-fips)?{_AWS_DOMAIN}"
#: the bare name (a URL's host name, a ``Host`` header's name part)
ECR_HOST_NAME = re.compile(f"^{_ECR_HOST_NAME}\\Z")
#: the name with an optional ``:port`` (a ``Host`` header, a registry address)
ECR_HOST = re.compile(f"^{_ECR_HOST_NAME}{_PORT}\\Z")
#: ECR's API host names, with an optional ``:port``: ``api.ecr.<region>.amazonaws.com`` (what
#: botocore calls), ``ecr.<region>...``, FIPS (``[api.]ecr-fips.<region>...``), ``.amazonaws.com.cn``
ECR_API_HOST = re.compile(rf"^(?:api\.)?ecr(?:-fips)?{_AWS_DOMAIN}{_PORT}\Z")
#: ECR Public's API host names, likewise: ``api.ecr-public.<region>.amazonaws.com``,
#: ``ecr-public.<region>...`` (its FIPS names, ``api.ecr-public-fips...``, are not taken)
ECR_PUBLIC_API_HOST = re.compile(rf"^(?:api\.)?ecr-public{_AWS_DOMAIN}{_PORT}\Z")


def parse_ecr_host(host: str) -> tuple[str, str] | None:
    """``(account, region)`` of an ECR registry host (``<account>.dkr.ecr.<region>.amazonaws.com``,
    ``.amazonaws.com.cn``, ``ecr-fips``, with or without ``:port``, any case), else None."""
    match = ECR_HOST.match(host.lower())
    return (match["account"], match["region"]) if match else None


class ApiHost(NamedTuple):
    #: ``ecr`` or ``ecr-public``
    service: str
    region: str
    #: the port's digits, None without one
    port: str | None

    @property
    def port_suffix(self) -> str:
        """``:<port>`` for an address under AWS's host names reached on the same port: empty
        without a port or on 443 (https's own)."""
        return "" if self.port in (None, "443") else f":{self.port}"


def parse_api_host(host: str) -> ApiHost | None:
    """The AWS API endpoint a ``Host`` (name, optional ``:port``, any case) names -- ECR's
    (:data:`ECR_API_HOST`) or ECR Public's (:data:`ECR_PUBLIC_API_HOST`) -- else None."""
    host = host.lower()
    for service, pattern in (("ecr", ECR_API_HOST), ("ecr-public", ECR_PUBLIC_API_HOST)):
        match = pattern.match(host)
        if match:
            return ApiHost(service, match["region"], match["port"])
    return None


def ecr_host_names(region: str) -> list[str]:
    """The host names ECR answers under in ``region`` (registry wildcard, API, FIPS), for a
    TLS certificate."""
    suffix = dns_suffix(region)
    return [f"*.dkr.ecr.{region}.{suffix}", f"api.ecr.{region}.{suffix}", f"ecr.{region}.{suffix}",
            f"*.dkr.ecr-fips.{region}.{suffix}", f"ecr-fips.{region}.{suffix}"]
