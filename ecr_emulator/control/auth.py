"""GetAuthorizationToken for both services: tokens the registry (data plane) accepts."""

from __future__ import annotations

from datetime import timedelta

from ..identity.tokens import TokenClaims
from .tables import ecr, ecr_public


def _token(ctx, registry: str):
    """A password for ``registry``'s registry, held by the caller: it opens that registry alone,
    and another account's only as far as its policies grant the caller."""
    expires_at = ctx.now + timedelta(hours=ctx.settings.token_hours)
    claims = TokenClaims(registry, ctx.caller.region, ctx.kind, expires_at, ctx.caller.account,
                         ctx.caller.principal_arn, ctx.caller.access_key or "")
    return ctx.tokens.authorization_token(claims), expires_at


@ecr("GetAuthorizationToken")
def get_authorization_token(ctx, registry_ids=None):
    data = []
    for account in dict.fromkeys(registry_ids or [ctx.caller.account]):
        token, expires_at = _token(ctx, account)
        data.append({"authorizationToken": token, "expiresAt": expires_at,
                     "proxyEndpoint": ctx.proxy_endpoint(account)})
    return {"authorizationData": data}


@ecr_public("GetAuthorizationToken")
def get_public_authorization_token(ctx):
    token, expires_at = _token(ctx, ctx.caller.account)
    return {"authorizationData": {"authorizationToken": token, "expiresAt": expires_at}}
