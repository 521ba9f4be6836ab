"""Resource-policy evaluation: explicit Deny wins, Allow grants cross-account, same account needs no grant."""

from __future__ import annotations

import json

import pytest

from ecr_emulator.identity.iam import (
    ALLOW,
    DENY,
    NOT_APPLICABLE,
    AccessRequest,
    Principal,
    authorized,
    evaluate,
)

OWNER, OTHER = "111111111111", "222222222222"
REPO = f"arn:aws:ecr:us-east-1:{OWNER}:repository/team/app"


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect="Allow", principal=None, action="ecr:BatchGetImage", **extra) -> dict:
    return {"Effect": effect, "Principal": principal if principal is not None else {"AWS": OTHER},
            "Action": action, **extra}


def req(account=OTHER, action="ecr:BatchGetImage", arn="", org=None, **context) -> AccessRequest:
    return AccessRequest(Principal(account, arn, org), action, REPO, context)


@pytest.mark.parametrize("principal", [
    "*", {"AWS": "*"}, {"AWS": OTHER}, {"AWS": f"arn:aws:iam::{OTHER}:root"}, {"AWS": [OWNER, OTHER]},
])
def test_principals_that_name_the_caller(principal):
    assert evaluate(policy(stmt(principal=principal)), req()) == ALLOW


@pytest.mark.parametrize("principal", [{"AWS": OWNER}, {"AWS": f"arn:aws:iam::{OTHER}:role/ci"},
                                       {"Service": "ecr.amazonaws.com"}])
def test_principals_that_do_not(principal):
    assert evaluate(policy(stmt(principal=principal)), req()) == NOT_APPLICABLE


def test_a_role_principal_matches_that_role_only():
    text = policy(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:role/ci"}))
    assert evaluate(text, req(arn=f"arn:aws:iam::{OTHER}:role/ci")) == ALLOW
    assert evaluate(text, req(arn=f"arn:aws:iam::{OTHER}:role/dev")) == NOT_APPLICABLE


@pytest.mark.parametrize("action, outcome", [
    ("ecr:BatchGetImage", ALLOW), ("ecr:*", ALLOW), ("ECR:batchget*", ALLOW), ("ecr:Batch?etImage", ALLOW),
    (["ecr:PutImage", "ecr:BatchGetImage"], ALLOW), ("ecr:PutImage", NOT_APPLICABLE), ("*", ALLOW),
])
def test_actions_with_wildcards(action, outcome):
    assert evaluate(policy(stmt(action=action)), req()) == outcome


def test_not_action_and_resources():
    assert evaluate(policy({"Effect": "Allow", "Principal": "*", "NotAction": "ecr:PutImage"}), req()) == ALLOW
    assert evaluate(policy(stmt(Resource=f"arn:aws:ecr:*:{OWNER}:repository/team/*")), req()) == ALLOW
    assert evaluate(policy(stmt(Resource=f"arn:aws:ecr:*:{OWNER}:repository/other")), req()) == NOT_APPLICABLE


def test_explicit_deny_wins_over_allow():
    text = policy(stmt(), stmt(effect="Deny", action="ecr:*"))
    assert evaluate(text, req()) == DENY
    assert not authorized(req(), OWNER, [text])


def test_same_account_needs_no_grant_but_a_deny_still_applies():
    assert authorized(req(account=OWNER), OWNER, [None])
    assert not authorized(req(account=OWNER), OWNER, [policy(stmt(effect="Deny", principal="*"))])


def test_cross_account_needs_an_allow_in_some_policy():
    assert not authorized(req(), OWNER, [None])
    assert not authorized(req(), OWNER, [policy(stmt(action="ecr:PutImage"))])
    assert authorized(req(), OWNER, [None, policy(stmt())])


@pytest.mark.parametrize("condition, outcome", [
    ({"StringEquals": {"aws:PrincipalAccount": OTHER}}, ALLOW),
    ({"StringEquals": {"aws:principalaccount": [OWNER, OTHER]}}, ALLOW),
    ({"StringNotEquals": {"aws:PrincipalAccount": OTHER}}, NOT_APPLICABLE),
    ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, ALLOW),
    ({"StringLike": {"aws:PrincipalOrgID": "o-a*"}}, ALLOW),
    ({"StringEquals": {"aws:SourceAccount": "333333333333"}}, ALLOW),
    ({"StringEquals": {"aws:SourceAccount": "444444444444"}}, NOT_APPLICABLE),
    ({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}, ALLOW),
    ({"StringEquals": {"aws:SourceVpc": "vpc-1"}}, NOT_APPLICABLE),
    ({"Null": {"aws:SourceVpc": "true"}}, ALLOW),
    ({"Null": {"aws:PrincipalOrgID": "true"}}, NOT_APPLICABLE),
    ({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:*"}}, ALLOW),
    ({"ForAnyValue:StringEquals": {"aws:PrincipalAccount": ["x", OTHER]}}, ALLOW),
    ({"NumericLessThan": {"aws:PrincipalAccount": "1"}}, NOT_APPLICABLE),
    ({"SomeUnknownOperator": {"aws:PrincipalAccount": OTHER}}, NOT_APPLICABLE),
])
def test_conditions(condition, outcome):
    request = req(org="o-abc", **{"aws:SourceAccount": "333333333333"})
    assert evaluate(policy(stmt(Condition=condition)), request) == outcome


def test_broken_or_missing_policies_grant_nothing():
    assert evaluate("not json", req()) == NOT_APPLICABLE
    assert evaluate(None, req()) == NOT_APPLICABLE
    assert evaluate(json.dumps({"Statement": "x"}), req()) == NOT_APPLICABLE


def test_one_wildcard_for_iam_patterns_and_ecr_filters():
    """``?`` is one character in IAM's patterns and itself in ECR's ``*``-only filters."""
    from ecr_emulator.identity.conditions import wildcard

    assert wildcard("ecr:Get*").fullmatch("ecr:GetAuthorizationToken")
    assert wildcard("ecr:get*", ignore_case=True).fullmatch("ecr:GetAuthorizationToken")
    assert wildcard("v?").fullmatch("v1")
    assert not wildcard("v?", any_char=False).fullmatch("v1")
    assert wildcard("v?", any_char=False).fullmatch("v?")
    assert wildcard("prod-*", any_char=False).fullmatch("prod-a.b\nc")
    assert not wildcard("prod-*", any_char=False).fullmatch("xprod-a")
