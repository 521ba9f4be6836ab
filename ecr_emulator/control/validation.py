"""Checks the model cannot express, with ECR's own wording."""

from __future__ import annotations

import re

from ..errors import InvalidParameterException, InvalidTagParameterException, TooManyTagsException

MAX_TAGS = 50

#: what ECR accepts as an image digest in an ImageIdentifier (its messages quote it)
DIGEST_PATTERN = "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+"
_DIGEST = re.compile(DIGEST_PATTERN)
#: the docker tag grammar (ECR's model only bounds the length, 1-300)
TAG_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_.-]*"
_TAG = re.compile(TAG_PATTERN)

#: the ``failureReason`` of a malformed identifier in the batch operations' ``failures``
MISSING_DIGEST_AND_TAG = "Invalid request parameters: both tag and digest cannot be null"
INVALID_DIGEST = f"Invalid request parameters: image digest should satisfy the regex '{DIGEST_PATTERN}'"
INVALID_TAG = f"Invalid request parameters: image tag should satisfy the regex '{TAG_PATTERN}'"


def invalid(member: str, rule: str) -> InvalidParameterException:
    return InvalidParameterException(f"Invalid parameter at '{member}' failed to satisfy constraint: '{rule}'")


def image_id_failure(image_id: dict) -> tuple[str, str] | None:
    """``(failureCode, failureReason)`` for an ImageIdentifier that is malformed, else None: what
    the batch operations (BatchGetImage, BatchDeleteImage) list in ``failures``."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest is None and tag is None:
        return "MissingDigestAndTag", MISSING_DIGEST_AND_TAG
    if digest is not None and not _DIGEST.fullmatch(digest):
        return "InvalidImageDigest", INVALID_DIGEST
    if tag is not None and not _TAG.fullmatch(tag):
        return "InvalidImageTag", INVALID_TAG
    return None


def check_image_id(image_id: dict) -> None:
    """Refuse a malformed ImageIdentifier where an operation answers with an error (DescribeImages,
    StartImageScan, DescribeImageScanFindings, DescribeImageReplicationStatus,
    DescribeImageSigningStatus, UpdateImageStorageClass, GetLifecyclePolicyPreview). A bad digest
    gets ECR's text (prowler-cloud/prowler#603 for DescribeImageScanFindings,
    pulumi/pulumi-aws#2466 for DescribeImages); the tag and missing-both texts follow its form."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest is None and tag is None:
        raise invalid("imageId", "both tag and digest cannot be null")
    if digest is not None and not _DIGEST.fullmatch(digest):
        raise invalid("imageDigest", f"must satisfy regular expression '{DIGEST_PATTERN}'")
    if tag is not None:
        check_image_tag(tag)


def check_image_tag(tag: str) -> None:
    """Refuse a tag outside the docker tag grammar (an ImageIdentifier's, PutImage's ``imageTag``)."""
    if not _TAG.fullmatch(tag):
        raise invalid("imageTag", f"must satisfy regular expression '{TAG_PATTERN}'")


def check_mutability(mode: str, filters: list | None) -> list[dict[str, str]]:
    """Exclusion filters go with the ``*_WITH_EXCLUSION`` modes and only with them."""
    if mode.endswith("_WITH_EXCLUSION"):
        if not filters:
            raise invalid(
                "imageTagMutabilityExclusionFilters",
                f"must be specified when imageTagMutability is {mode}",
            )
        return [dict(f) for f in filters]
    if filters:
        raise invalid(
            "imageTagMutabilityExclusionFilters",
            "can only be specified when imageTagMutability is IMMUTABLE_WITH_EXCLUSION "
            "or MUTABLE_WITH_EXCLUSION",
        )
    return []


def merge_tags(current: dict[str, str], tags: list[dict] | None) -> dict[str, str]:
    """``current`` with ``tags`` applied (later keys win), checked like ECR checks them."""
    merged = dict(current)
    for tag in tags or []:
        key, value = tag.get("Key"), tag.get("Value", "")
        if key is None:
            raise InvalidTagParameterException("Tag key must not be null.")
        if not 1 <= len(key) <= 128:
            raise InvalidTagParameterException("Tag keys must be between 1 and 128 characters long.")
        if len(value) > 256:
            raise InvalidTagParameterException("Tag values must be at most 256 characters long.")
        if key.lower().startswith("aws:"):
            raise InvalidTagParameterException("Tag keys starting with 'aws:' are reserved for AWS use.")
        merged[key] = value
    if len(merged) > MAX_TAGS:
        raise TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags.")
    return merged


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]
