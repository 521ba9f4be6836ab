"""ECR Public: repositories, catalog data (what the gallery shows) and registries."""

from __future__ import annotations

from ..addressing.ecr_public import aliases_of, is_verified
from ..addressing.partitions import arn
from ..errors import RepositoryCatalogDataNotFoundException
from ..store import Repository
from .pagination import paginate
from .repositories import create, public_repository_view
from .tables import ecr_public
from .validation import invalid, merge_tags

CATALOG_TEXT_FIELDS = ("description", "architectures", "operatingSystems", "aboutText", "usageText")


def catalog_view(ctx, repo: Repository) -> dict:
    data = repo.catalog_data or {}
    view = {k: data[k] for k in CATALOG_TEXT_FIELDS if k in data}
    if data.get("logoImageBlob"):
        view["logoUrl"] = f"{ctx.scheme}://{ctx.host}/_emulator/public/logos/{repo.account}/{repo.name}"
    view["marketplaceCertified"] = False
    return view


#: what ECR Public accepts as a repository logo (the model bounds the size: 512,000 bytes)
LOGO_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _catalog(data: dict | None) -> dict:
    """Catalog data as stored: the model has checked lengths and counts; the logo must be an image."""
    data = dict(data or {})
    logo = data.get("logoImageBlob")
    if logo and not bytes(logo).startswith(LOGO_SIGNATURES):
        raise invalid("catalogData.logoImageBlob", "The repository logo must be a PNG or JPEG image")
    return data


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
    """The caller's one public registry, with its aliases (``--public-alias``) and verified flag
    (``--public-verified``), paged like every listing."""
    state = ctx.registry(None, "DescribeRegistries")
    registry = {
        "registryId": state.account,
        "registryArn": arn("ecr-public", "", state.account, f"registry/{state.account}"),
        "registryUri": ctx.public_registry_uri(state.account),
        "verified": is_verified(ctx.settings, state.account),
        "aliases": [{"name": alias.name, "status": "ACTIVE", "primaryRegistryAlias": alias.primary,
                     "defaultRegistryAlias": alias.default} for alias in aliases_of(ctx.settings, state.account)],
    }
    page, token = paginate([registry], next_token, max_results, scope=f"{ctx.service}:DescribeRegistries")
    return {"registries": page, "nextToken": token}
