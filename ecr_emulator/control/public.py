"""ECR Public: repositories, catalog data (what the gallery shows) and registries."""

from __future__ import annotations

from ..errors import RepositoryCatalogDataNotFoundException
from ..store import Repository
from ._registry import ecr_public
from .context import public_alias
from .repositories import create, public_repository_view
from .validation import merge_tags

CATALOG_TEXT_FIELDS = ("description", "architectures", "operatingSystems", "aboutText", "usageText")


def catalog_view(ctx, repo: Repository) -> dict:
    data = repo.catalog_data or {}
    view = {k: data[k] for k in CATALOG_TEXT_FIELDS if k in data}
    if data.get("logoImageBlob"):
        view["logoUrl"] = f"{ctx.scheme}://{ctx.host}/_emulator/public/logos/{repo.account}/{repo.name}"
    view["marketplaceCertified"] = False
    return view


def _catalog(data: dict | None) -> dict:
    return dict(data or {})


@ecr_public("CreateRepository")
def create_repository(ctx, repository_name, catalog_data=None, tags=None):
    state = ctx.registry(None, "CreateRepository")
    repo = create(ctx, state, repository_name, tags=merge_tags({}, tags), catalog_data=_catalog(catalog_data))
    return {"repository": public_repository_view(ctx, repo), "catalogData": catalog_view(ctx, repo)}


@ecr_public("GetRepositoryCatalogData")
def get_repository_catalog_data(ctx, repository_name, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "GetRepositoryCatalogData")
    if repo.catalog_data is None:
        raise RepositoryCatalogDataNotFoundException(
            f"The repository catalog data for repository '{repo.name}' does not exist."
        )
    return {"catalogData": catalog_view(ctx, repo)}


@ecr_public("PutRepositoryCatalogData")
def put_repository_catalog_data(ctx, repository_name, catalog_data, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "PutRepositoryCatalogData")
    repo.catalog_data = _catalog(catalog_data)
    return {"catalogData": catalog_view(ctx, repo)}


@ecr_public("GetRegistryCatalogData")
def get_registry_catalog_data(ctx):
    state = ctx.registry(None, "GetRegistryCatalogData")
    return {"registryCatalogData": {"displayName": state.catalog_display_name}}


@ecr_public("PutRegistryCatalogData")
def put_registry_catalog_data(ctx, display_name=None):
    state = ctx.registry(None, "PutRegistryCatalogData")
    if display_name is not None:
        state.catalog_display_name = display_name
    return {"registryCatalogData": {"displayName": state.catalog_display_name}}


@ecr_public("DescribeRegistries")
def describe_registries(ctx, next_token=None, max_results=None):
    state = ctx.registry(None, "DescribeRegistries")
    alias = public_alias(state.account)
    host = "public.ecr.aws" if ctx.settings.uri_style == "aws" else ctx.host
    registry = {
        "registryId": state.account,
        "registryArn": f"arn:aws:ecr-public::{state.account}:registry/{state.account}",
        "registryUri": f"{host}/{alias}",
        "verified": False,
        "aliases": [{"name": alias, "status": "ACTIVE", "primaryRegistryAlias": True,
                     "defaultRegistryAlias": True}],
    }
    return {"registries": [registry]}
