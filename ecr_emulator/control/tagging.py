"""Resource tags on repositories (the only taggable ECR resource), for both services."""

from __future__ import annotations

import re

from ..errors import RepositoryNotFoundException
from .tables import both
from .validation import invalid, merge_tags, tag_list

#: a repository ARN of each service: (region, account, name)
REPOSITORY_ARN = {
    "ecr": re.compile(r"^arn:aws[a-z-]*:ecr:([a-z0-9-]+):([0-9]{12}):repository/(.+)$"),
    "ecr-public": re.compile(r"^arn:aws[a-z-]*:ecr-public:([a-z0-9-]*):([0-9]{12}):repository/(.+)$"),
}


def _repository(ctx, arn: str, action: str):
    match = REPOSITORY_ARN[ctx.service].match(arn)
    if not match:
        # moto's text (its ECR tests assert it); not seen in a real ECR answer
        raise invalid("resourceArn", "Invalid ARN")
    region, account, name = match.groups()
    repo = ctx.repository(name, account, action)
    if repo.arn != arn:
        raise RepositoryNotFoundException.named(name, account)
    return repo


@both("TagResource")
def tag_resource(ctx, resource_arn, tags):
    repo = _repository(ctx, resource_arn, "TagResource")
    repo.tags = merge_tags(repo.tags, tags)
    return {}


@both("UntagResource")
def untag_resource(ctx, resource_arn, tag_keys):
    repo = _repository(ctx, resource_arn, "UntagResource")
    for key in tag_keys:
        repo.tags.pop(key, None)
    return {}


@both("ListTagsForResource")
def list_tags_for_resource(ctx, resource_arn):
    return {"tags": tag_list(_repository(ctx, resource_arn, "ListTagsForResource").tags)}
