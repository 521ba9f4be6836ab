"""Pull-time update exclusions: Register/Deregister/ListPullTimeUpdateExclusions.

Pulls (BatchGetImage, a manifest GET) by an excluded principal do not move the image's
``lastRecordedPullTime`` (``store/pull_times.py`` says what matches).
"""

from __future__ import annotations

from ..errors import ExclusionAlreadyExistsException, ExclusionNotFoundException, LimitExceededException
from .pagination import paginate
from .tables import ecr

MAX_EXCLUSIONS = 100


@ecr("RegisterPullTimeUpdateExclusion")
def register_pull_time_update_exclusion(ctx, principal_arn):
    state = ctx.registry(None, "RegisterPullTimeUpdateExclusion")
    if principal_arn in state.pull_time_exclusions:
        raise ExclusionAlreadyExistsException(
            f"The pull time update exclusion for principal '{principal_arn}' already exists in the registry "
            f"with id '{state.account}'")
    if len(state.pull_time_exclusions) >= MAX_EXCLUSIONS:
        raise LimitExceededException(
            f"The registry with id '{state.account}' already has {MAX_EXCLUSIONS} pull time update exclusions, "
            "the most allowed")
    state.pull_time_exclusions[principal_arn] = ctx.now
    return {"principalArn": principal_arn, "createdAt": ctx.now}


@ecr("DeregisterPullTimeUpdateExclusion")
def deregister_pull_time_update_exclusion(ctx, principal_arn):
    state = ctx.registry(None, "DeregisterPullTimeUpdateExclusion")
    if state.pull_time_exclusions.pop(principal_arn, None) is None:
        raise ExclusionNotFoundException(
            f"The pull time update exclusion for principal '{principal_arn}' does not exist in the registry "
            f"with id '{state.account}'")
    return {"principalArn": principal_arn}


@ecr("ListPullTimeUpdateExclusions")
def list_pull_time_update_exclusions(ctx, max_results=None, next_token=None):
    state = ctx.registry(None, "ListPullTimeUpdateExclusions")
    page, token = paginate(list(state.pull_time_exclusions), next_token, max_results,
                           scope=f"ecr:ListPullTimeUpdateExclusions:{state.account}:{state.region}")
    return {"pullTimeUpdateExclusions": page, "nextToken": token}
