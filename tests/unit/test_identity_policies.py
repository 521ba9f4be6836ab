"""Identity-policy evaluation (issue 19) and IAM matching details: ArnLike/ArnEquals per ARN part,
policy variables, the condition keys and operators ECR users write, IAM's decision across
identity and resource policies, and the identity-policies file's checks."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ecr_emulator.awsjson.aws_error import AccessDeniedException
from ecr_emulator.identity.iam import (
    IDENTITY_DENY,
    NO_IDENTITY_ALLOW,
    RESOURCE_DENY,
    AccessRequest,
    Principal,
    context_keys,
    decide_identity,
    evaluate,
    require_identity,
)
from ecr_emulator.identity.identity_policies import IdentityPolicies
from ecr_emulator.settings import SettingError, Settings

ACCOUNT, OTHER = "111122223333", "444455556666"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci"
REPO = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="ecr:BatchGetImage", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def req(action="ecr:BatchGetImage", resource=REPO, arn=SESSION, account=ACCOUNT, tags=(), **keys) -> AccessRequest:
    context = {**context_keys("ecr", NOW, {"aws:SourceIp": "10.1.2.3", "aws:SecureTransport": "false"}), **keys}
    return AccessRequest(Principal(account, arn, tags=tuple(tags)), action, resource, context)


# -- ArnLike / ArnEquals: each of the six parts on its own -------------------------------------

@pytest.mark.parametrize("operator", ["ArnLike", "ArnEquals"])
@pytest.mark.parametrize("pattern, outcome", [
    (f"arn:aws:iam::{ACCOUNT}:role/*", False),          # the session is an sts ARN
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/*", True),
    ("arn:aws:sts::*:assumed-role/ci/*", True),
    ("arn:aws:sts::*", False),                          # a * never crosses a colon into the next part
    ("arn:*", False),
    ("arn:*:*:*:*:*", True),
    (f"arn:aws:sts:*:{ACCOUNT}:*", True),
    ("arn:aws:sts::1111*:assumed-role/*", True),
    (f"arn:aws:sts::*:{ACCOUNT}:*", False),             # the account cannot slide into another part
])
def test_arn_operators_match_each_part_separately(operator, pattern, outcome):
    policy = doc(allow(Condition={operator: {"aws:SourceArn": pattern}}))
    assert (evaluate(policy, req(**{"aws:SourceArn": SESSION})) == "Allow") is outcome


def test_arn_not_like_is_the_negation_per_part():
    policy = doc(allow(Condition={"ArnNotLike": {"aws:SourceArn": "arn:aws:sts::*"}}))
    assert evaluate(policy, req(**{"aws:SourceArn": SESSION})) == "Allow"


# -- principals and principal keys -------------------------------------------------------------

def test_an_assumed_role_session_s_principal_arn_is_its_role():
    values = req().condition_values()
    assert values["aws:principalarn"] == [ROLE]
    assert values["aws:principalaccount"] == [ACCOUNT]
    assert "aws:username" not in values  # a role session has no user name


def test_a_resource_policy_naming_the_role_matches_its_sessions():
    policy = doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "ecr:*"})
    assert evaluate(policy, req()) == "Allow"


def test_principal_tags_and_user_names_in_conditions_and_variables():
    user = f"arn:aws:iam::{ACCOUNT}:user/path/alice"
    policy = doc(allow(resource=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/${{aws:username}}/*"))
    assert evaluate(policy, req(resource=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/alice/app", arn=user)) == "Allow"
    assert evaluate(policy, req(resource=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/bob/app", arn=user)) != "Allow"
    tagged = doc(allow(resource="arn:aws:ecr:*:*:repository/${aws:PrincipalTag/team}/*",
                       Condition={"StringEquals": {"aws:PrincipalTag/team": "team"}}))
    assert evaluate(tagged, req(tags=[("team", "team")])) == "Allow"
    assert evaluate(tagged, req(tags=[("team", "other")])) != "Allow"
    assert evaluate(tagged, req()) != "Allow"  # no tag: the variable has no value, nothing matches


def test_variables_have_defaults_and_escapes_and_need_the_2012_version():
    with_default = doc(allow(resource="arn:aws:ecr:*:*:repository/${aws:username, 'shared'}/*"))
    assert evaluate(with_default, req(resource=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/shared/x")) == "Allow"
    literal = doc(allow(resource="arn:aws:ecr:*:*:repository/${*}"))
    assert evaluate(literal, req(resource=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*")) == "Allow"
    assert evaluate(literal, req()) != "Allow"  # ${*} is a literal star, not a wildcard
    old = {"Version": "2008-10-17", "Statement": [allow(resource="arn:aws:ecr:*:*:repository/${aws:username}")]}
    assert evaluate(old, req(resource="arn:aws:ecr:us-east-1:1:repository/${aws:username}")) == "Allow"


# -- request keys ------------------------------------------------------------------------------

def test_request_tags_and_tag_keys():
    keys = context_keys("ecr", NOW, request_tags={"team": "a", "cost": "1"})
    request = AccessRequest(Principal(ACCOUNT, SESSION), "ecr:CreateRepository", REPO, keys)
    assert evaluate(doc(allow("ecr:CreateRepository", Condition={
        "StringEquals": {"aws:RequestTag/team": "a"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"]}})), request) == "Allow"
    assert evaluate(doc(allow("ecr:CreateRepository", Condition={
        "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})), request) != "Allow"
    assert evaluate(doc(allow("ecr:CreateRepository", Condition={
        "ForAnyValue:StringEquals": {"aws:TagKeys": ["cost"]}})), request) == "Allow"
    untagged = AccessRequest(Principal(ACCOUNT, SESSION), "ecr:CreateRepository", REPO, context_keys("ecr", NOW))
    assert evaluate(doc(allow("ecr:CreateRepository", Condition={
        "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})), untagged) == "Allow"  # IAM: empty set holds
    assert evaluate(doc(allow("ecr:CreateRepository", Condition={
        "ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}})), untagged) != "Allow"


def test_resource_tags_under_both_prefixes():
    keys = context_keys("ecr", NOW, resource_tags={"env": "prod"})
    request = AccessRequest(Principal(ACCOUNT, SESSION), "ecr:PutImage", REPO, keys)
    for key in ("ecr:ResourceTag/env", "aws:ResourceTag/env"):
        assert evaluate(doc(allow("ecr:PutImage", Condition={"StringEquals": {key: "prod"}})), request) == "Allow"
        assert evaluate(doc(allow("ecr:PutImage", Condition={"StringEquals": {key: "dev"}})), request) != "Allow"


@pytest.mark.parametrize("condition, outcome", [
    ({"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}, True),
    ({"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}, False),
    ({"DateLessThan": {"aws:CurrentTime": "2026-06-02"}}, True),
    ({"NumericGreaterThanEquals": {"aws:EpochTime": str(int(NOW.timestamp()))}}, True),
    ({"DateGreaterThan": {"aws:EpochTime": str(int(NOW.timestamp()) + 1)}}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, True),
    ({"Bool": {"aws:SecureTransport": True}}, False),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, True),
    ({"IpAddress": {"aws:SourceIp": ["192.168.0.0/16", "10.1.2.3/32"]}}, True),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, False),
    ({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, True),
    ({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/c*"}}, True),
    ({"StringEqualsIfExists": {"aws:RequestTag/team": "a"}}, True),
    ({"Null": {"aws:RequestTag/team": "true"}}, True),
    ({"StringEquals": {"aws:RequestTag/team": "a"}}, False),      # a missing key matches nothing...
    ({"StringNotEquals": {"aws:RequestTag/team": "a"}}, True),    # ...so a negated operator holds
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sts::*:*:*"}}, True),
    ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "a"}}, False),  # no values: ForAnyValue never holds
])
def test_condition_keys_and_operators(condition, outcome):
    assert (evaluate(doc(allow(Condition=condition)), req()) == "Allow") is outcome


# -- IAM's decision ----------------------------------------------------------------------------

def test_an_explicit_deny_anywhere_wins():
    identity = [doc(allow("ecr:*")), doc({"Effect": "Deny", "Action": "ecr:BatchDeleteImage", "Resource": "*"})]
    assert decide_identity(req("ecr:BatchDeleteImage"), ACCOUNT, identity, []) == IDENTITY_DENY
    resource = json.dumps(doc({"Effect": "Deny", "Principal": "*", "Action": "ecr:PutImage"}))
    assert decide_identity(req("ecr:PutImage"), ACCOUNT, identity, [resource]) == RESOURCE_DENY
    assert decide_identity(req("ecr:PutImage"), ACCOUNT, identity, [None]) is None


def test_same_account_an_identity_or_a_resource_allow_grants():
    assert decide_identity(req(), ACCOUNT, [], []) == NO_IDENTITY_ALLOW
    naming = json.dumps(doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "ecr:BatchGetImage"}))
    assert decide_identity(req(), ACCOUNT, [], [naming]) is None
    someone_else = json.dumps(doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"},
                                   "Action": "ecr:BatchGetImage"}))
    assert decide_identity(req(), ACCOUNT, [], [someone_else]) == NO_IDENTITY_ALLOW


def test_across_accounts_the_identity_side_must_allow_whatever_the_resource_policy_says():
    resource = json.dumps(doc({"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}))
    caller = req(resource=f"arn:aws:ecr:us-east-1:{OTHER}:repository/team/app")
    assert decide_identity(caller, OTHER, [], [resource]) == NO_IDENTITY_ALLOW
    assert decide_identity(caller, OTHER, [doc(allow())], [resource]) is None


def test_the_root_and_services_are_not_bound_by_identity_policies():
    root = AccessRequest(Principal(ACCOUNT), "ecr:DeleteRepository", REPO)
    assert decide_identity(root, ACCOUNT, [], []) is None
    service = AccessRequest(Principal(ACCOUNT, service="replication.ecr.amazonaws.com"), "ecr:ReplicateImage", REPO)
    assert decide_identity(service, ACCOUNT, [], []) is None


@pytest.mark.parametrize("identity, resource, ending", [
    ([], [], "because no identity-based policy allows the ecr:PutImage action"),
    ([doc({"Effect": "Deny", "Action": "ecr:PutImage", "Resource": "*"})], [],
     "with an explicit deny in an identity-based policy"),
    ([doc(allow("ecr:PutImage"))], [json.dumps(doc({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}))],
     "with an explicit deny in a resource-based policy"),
])
def test_aws_wording_per_case(identity, resource, ending):
    with pytest.raises(AccessDeniedException) as info:
        require_identity(req("ecr:PutImage"), ACCOUNT, identity, resource)
    assert info.value.message == f"User: {SESSION} is not authorized to perform: ecr:PutImage on resource: {REPO} {ending}"


# -- the file ----------------------------------------------------------------------------------

def write(tmp_path, data) -> str:
    path = tmp_path / "identity-policies.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_entries_are_found_by_role_session_user_and_carry_tags(tmp_path):
    path = write(tmp_path, {
        f"arn:aws:iam::{ACCOUNT}:role/teams/ci": {"Policies": [doc(allow())], "Tags": {"team": "a"}},
        f"arn:aws:iam::{ACCOUNT}:user/alice": [doc(allow())],
    })
    identities = IdentityPolicies.load(path)
    assert identities.lookup(SESSION).tags == (("team", "a"),)  # a role's path is not in its sessions' ARN
    assert identities.lookup(f"arn:aws:iam::{ACCOUNT}:user/alice").documents == (doc(allow()),)
    assert identities.lookup(f"arn:aws:iam::{OTHER}:user/alice") is None
    assert identities.documents(f"arn:aws:iam::{ACCOUNT}:root") == ()


@pytest.mark.parametrize("data, fragment", [
    ("{not json", "cannot read the identity-policies file"),
    ([], "expected a JSON object"),
    ({"arn:aws:iam::1:role/x": []}, "entry 'arn:aws:iam::1:role/x': the key must be a role or user ARN"),
    ({ROLE: {"Policies": [], "Tagz": {}}}, "unknown member(s) Tagz"),
    ({ROLE: [doc({"Effect": "Permit", "Action": "ecr:*", "Resource": "*"})]},
     f"entry '{ROLE}': policy 1: statement 1: Effect must be Allow or Deny"),
    ({ROLE: [doc(allow(), {"Effect": "Allow", "Action": "ecr:*"})]},
     "policy 1: statement 2: needs exactly one of Resource and NotResource"),
    ({ROLE: [doc({**allow(), "Principal": "*"})]}, "must not name a Principal"),
    ({ROLE: [doc(allow(action="PutImage"))]}, "'PutImage' is not an action"),
    ({ROLE: [doc(allow(resource="team/*"))]}, 'Resource team/* must be in ARN format or "*"'),
    ({ROLE: [doc(allow(Condition={"StringEqualz": {"aws:PrincipalTag/a": "b"}}))]},
     "unknown condition operator 'StringEqualz'"),
    ({ROLE: [{"Version": "2012-10-17"}]}, "policy 1: no Statement"),
    ({ROLE: [], f"arn:aws:iam::{ACCOUNT}:role/team/ci": []},
     f"entry 'arn:aws:iam::{ACCOUNT}:role/team/ci' names the same identity as entry '{ROLE}'"),
])
def test_a_malformed_file_is_one_error_naming_the_file_and_the_entry(tmp_path, data, fragment):
    path = write(tmp_path, data)
    with pytest.raises(ValueError) as info:
        IdentityPolicies.load(path)
    assert path in str(info.value) and fragment in str(info.value)


def test_the_setting_needs_a_credentials_file_and_a_good_file(tmp_path):
    good = write(tmp_path, {ROLE: [doc(allow())]})
    with pytest.raises(SettingError, match="--identity-policies / ECR_EMULATOR_IDENTITY_POLICIES needs "
                                           "--credentials-file"):
        Settings(identity_policies=good)
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[ci]\naws_access_key_id = K\naws_secret_access_key = s\naccount = {ACCOUNT}\n")
    assert Settings(identity_policies=good, credentials_file=str(credentials)).identity_policies == good
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({ROLE: [doc({"Effect": "Allow"})]}))
    with pytest.raises(SettingError, match=f"ECR_EMULATOR_IDENTITY_POLICIES: {bad}: entry '{ROLE}': policy 1"):
        Settings(identity_policies=str(bad), credentials_file=str(credentials))


def test_serve_exits_2_naming_the_file_and_the_entry(tmp_path, capsys):
    from ecr_emulator.runtime.cli import main

    credentials = tmp_path / "credentials"
    credentials.write_text(f"[ci]\naws_access_key_id = K\naws_secret_access_key = s\naccount = {ACCOUNT}\n")
    bad = write(tmp_path, {ROLE: [doc({"Effect": "Allow", "Action": "ecr:*"})]})
    assert main(["serve", "--credentials-file", str(credentials), "--identity-policies", bad]) == 2
    error = capsys.readouterr().err
    assert bad in error and ROLE in error and "needs exactly one of Resource and NotResource" in error
    assert main(["serve", "--identity-policies", bad]) == 2
    assert "needs --credentials-file" in capsys.readouterr().err
