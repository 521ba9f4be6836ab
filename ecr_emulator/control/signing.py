"""Managed signing: Put/Get/DeleteSigningConfiguration and DescribeImageSigningStatus.

The signing itself is the signing feature (``features/signing/``).
"""

from __future__ import annotations

from ..errors import ImageNotFoundException, SigningConfigurationNotFoundException
from .images import resolve
from .tables import ecr
from .validation import check_image_id


def _configuration(rules: list[dict]) -> dict:
    return {"rules": [dict(rule) for rule in rules]}


def _rule(rule: dict) -> dict:
    stored = {"signingProfileArn": rule["signingProfileArn"]}
    if rule.get("repositoryFilters") is not None:
        stored["repositoryFilters"] = [{"filter": f["filter"], "filterType": f["filterType"]}
                                       for f in rule["repositoryFilters"]]
    return stored


@ecr("PutSigningConfiguration")
def put_signing_configuration(ctx, signing_configuration):
    state = ctx.registry(None, "PutSigningConfiguration")
    state.signing_rules = [_rule(rule) for rule in signing_configuration["rules"]]
    return {"signingConfiguration": _configuration(state.signing_rules)}


def _existing(ctx, action: str):
    state = ctx.registry(None, action)
    if state.signing_rules is None:
        raise SigningConfigurationNotFoundException.named(state.account)
    return state


@ecr("GetSigningConfiguration")
def get_signing_configuration(ctx):
    state = _existing(ctx, "GetSigningConfiguration")
    return {"registryId": state.account, "signingConfiguration": _configuration(state.signing_rules)}


@ecr("DeleteSigningConfiguration")
def delete_signing_configuration(ctx):
    state = _existing(ctx, "DeleteSigningConfiguration")
    result = {"registryId": state.account, "signingConfiguration": _configuration(state.signing_rules)}
    state.signing_rules = None  # existing signatures stay
    return result


@ecr("DescribeImageSigningStatus")
def describe_image_signing_status(ctx, repository_name, image_id, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "DescribeImageSigningStatus")
    check_image_id(image_id)
    image, _ = resolve(repo, image_id)
    if image is None:
        raise ImageNotFoundException.for_id(image_id, repo.name, repo.account)
    image_ref = {"imageDigest": image.digest}
    if image_id.get("imageTag"):
        image_ref["imageTag"] = image_id["imageTag"]
    return {"repositoryName": repo.name, "imageId": image_ref, "registryId": repo.account,
            "signingStatuses": [dict(s) for s in image.signing_statuses]}
