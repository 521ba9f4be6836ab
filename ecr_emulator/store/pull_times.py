"""Pull-time update exclusions: principals whose pulls do not move ``lastRecordedPullTime``.

An exclusion names an IAM role or user ARN. A pull matches it when the puller's principal is
that ARN, or an STS assumed-role session of that role (``arn:aws:sts::<acct>:assumed-role/
<role name>/<session>`` matches ``arn:aws:iam::<acct>:role/[<path>/]<role name>``).
"""

from __future__ import annotations

import re

_ASSUMED = re.compile(r"^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([^/]+)/.+$")
_ROLE = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(?:.*/)?([^/]+)$")


def excluded(exclusions: dict, principal_arn: str) -> bool:
    if not exclusions:
        return False
    if principal_arn in exclusions:
        return True
    assumed = _ASSUMED.match(principal_arn)
    if assumed is None:
        return False
    return any((role := _ROLE.match(arn)) is not None and role.groups() == assumed.groups() for arn in exclusions)
