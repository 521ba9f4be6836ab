"""Checks the model cannot express, with ECR's own wording."""

from __future__ import annotations

from ..errors import InvalidParameterException, InvalidTagParameterException, TooManyTagsException

MAX_TAGS = 50


def invalid(member: str, rule: str) -> InvalidParameterException:
    return InvalidParameterException(f"Invalid parameter at '{member}' failed to satisfy constraint: '{rule}'")


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
