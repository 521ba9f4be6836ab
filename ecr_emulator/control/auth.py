"""GetAuthorizationToken for both services: tokens the registry (data plane) accepts."""

from __future__ import annotations

from datetime import timedelta

from ..tokens import TokenClaims
from ._registry import ecr, ecr_public


def _token(ctx):
    expires_at = ctx.now + timedelta(hours=ctx.settings.token_hours)
    claims = TokenClaims(ctx.caller.account, ctx.caller.region, ctx.kind, expires_at, ctx.caller.principal_arn)
    return ctx.tokens.authorization_token(claims), expires_at


@ecr("GetAuthorizationToken")
def get_authorization_token(ctx, registry_ids=None):
    token, expires_at = _token(ctx)
    accounts = list(dict.fromkeys(registry_ids or [ctx.caller.account]))
    return {"authorizationData": [
        {"authorizationToken": token, "expiresAt": expires_at, "proxyEndpoint": ctx.proxy_endpoint(a)}
        for a in accounts
    ]}


@ecr_public("GetAuthorizationToken")
def get_public_authorization_token(ctx):
    token, expires_at = _token(ctx)
    return {"authorizationData": {"authorizationToken": token, "expiresAt": expires_at}}
