"""What the gallery pages show, read from the store as plain values (under ``Backend.lock``).

The public side is the ECR Public Gallery's: public repositories of every account with their
catalog data and download counts, searchable by name and description and filtered by the
operating systems and architectures the gallery recognises and by verified account. The private side is a read-only view of every private
registry (account, region), its repositories and images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..addressing.ecr_public import is_verified, primary_alias
from ..store import PRIVATE, PUBLIC, Image, Repository

#: the badges (and search filters) of the ECR Public Gallery; other values are stored, not shown
ARCHITECTURES = ("ARM", "ARM 64", "x86", "x86-64")
OPERATING_SYSTEMS = ("Linux", "Windows")


@dataclass
class TagRow:
    tag: str
    digest: str
    size: int
    pushed_at: datetime
    media_type: str


@dataclass
class PublicRepo:
    account: str
    alias: str
    name: str
    description: str
    about: str
    usage: str
    architectures: list[str]
    operating_systems: list[str]
    verified: bool
    display_name: str
    has_logo: bool
    created_at: datetime
    last_pushed_at: datetime | None
    tags: list[TagRow] = field(default_factory=list)
    #: image pulls from the public registry (``store.image_door.record_download``)
    downloads: int = 0

    @property
    def publisher(self) -> str:
        """Who the card names as the publisher: a verified registry's display name, else its alias."""
        return self.display_name or self.alias

    @property
    def path(self) -> str:
        return f"{self.alias}/{self.name}"

    @property
    def badges(self) -> list[str]:
        return [v for v in self.operating_systems if v in OPERATING_SYSTEMS] + \
               [v for v in self.architectures if v in ARCHITECTURES]

    @property
    def default_tag(self) -> str | None:
        """``latest`` when there is one, else the most recently pushed tag."""
        if any(row.tag == "latest" for row in self.tags):
            return "latest"
        return self.tags[0].tag if self.tags else None


def _tag_rows(repo: Repository) -> list[TagRow]:
    rows = []
    for tag, digest in repo.tag_index.items():
        image = repo.images[digest]
        rows.append(TagRow(tag, digest, image.size, repo.tagged_at.get(tag, image.pushed_at), image.media_type))
    return sorted(rows, key=lambda row: (row.pushed_at, row.tag), reverse=True)


def _public(settings, state, repo: Repository) -> PublicRepo:
    data = repo.catalog_data or {}
    verified = is_verified(settings, repo.account)
    pushed = [image.pushed_at for image in repo.images.values()]
    return PublicRepo(
        account=repo.account, alias=primary_alias(settings, repo.account), name=repo.name,
        description=data.get("description") or "", about=data.get("aboutText") or "",
        usage=data.get("usageText") or "", architectures=list(data.get("architectures") or ()),
        operating_systems=list(data.get("operatingSystems") or ()), verified=verified,
        # as on the gallery, a registry's display name and logos are public once it is verified
        display_name=state.catalog_display_name if verified else "",
        has_logo=verified and bool(data.get("logoImageBlob")),
        created_at=repo.created_at, last_pushed_at=max(pushed) if pushed else None, tags=_tag_rows(repo),
        downloads=repo.download_count,
    )


def public_repositories(backend, settings) -> list[PublicRepo]:
    with backend.lock:
        found = [_public(settings, state, repo) for state in backend.registries() if state.kind == PUBLIC
                 for repo in state.repositories.values()]
    return sorted(found, key=lambda r: (r.alias, r.name))


def _registry(backend, kind: str, account: str, region: str | None = None):
    """An existing registry (looked up, never created: the gallery only reads)."""
    return next((s for s in backend.registries()
                 if s.kind == kind and s.account == account and (region is None or s.region == region)), None)


def public_repository(backend, settings, account: str, name: str) -> PublicRepo | None:
    with backend.lock:
        state = _registry(backend, PUBLIC, account)
        repo = state.repositories.get(name) if state is not None else None
        return _public(settings, state, repo) if repo is not None else None


def search(repos: list[PublicRepo], query: str, architectures: list[str], systems: list[str],
           verified_only: bool = False) -> list[PublicRepo]:
    """Repositories whose name, alias or description contain every word of ``query`` (any case),
    with one of ``architectures`` (when any are given) and one of ``systems`` (likewise), and
    of verified accounts only when ``verified_only`` (the gallery's "Verified account" filter)."""
    words = query.lower().split()
    found = []
    for repo in repos:
        if verified_only and not repo.verified:
            continue
        text = f"{repo.alias}/{repo.name} {repo.description} {repo.display_name}".lower()
        if not all(word in text for word in words):
            continue
        if architectures and not set(architectures) & set(repo.architectures):
            continue
        if systems and not set(systems) & set(repo.operating_systems):
            continue
        found.append(repo)
    return found


# -- the private side ---------------------------------------------------------------------------

@dataclass
class RegistryRow:
    account: str
    region: str
    repositories: int
    images: int
    size: int


@dataclass
class RepositoryRow:
    name: str
    created_at: datetime
    images: int
    tags: int
    size: int
    tag_mutability: str
    scan_on_push: bool
    last_pushed_at: datetime | None


@dataclass
class ImageRow:
    digest: str
    tags: list[str]
    size: int
    pushed_at: datetime
    last_pulled_at: datetime | None
    media_type: str
    artifact_type: str | None
    scan_status: str | None


def scan_status(image: Image) -> str | None:
    """The status of the image's last scan (``COMPLETE``, ``IN_PROGRESS``, ``FAILED``,
    ``UNSUPPORTED_IMAGE``...), as DescribeImages' ``imageScanStatus`` says; None if never scanned."""
    return image.scan.status if image.scan is not None else None


def private_registries(backend) -> list[RegistryRow]:
    with backend.lock:
        rows = []
        for state in backend.registries():
            if state.kind != PRIVATE:
                continue
            repos = list(state.repositories.values())
            rows.append(RegistryRow(state.account, state.region, len(repos),
                                    sum(len(r.images) for r in repos),
                                    sum(i.size for r in repos for i in r.images.values())))
    return sorted(rows, key=lambda r: (r.account, r.region))


def private_repositories(backend, account: str, region: str) -> list[RepositoryRow] | None:
    with backend.lock:
        state = _registry(backend, PRIVATE, account, region)
        if state is None:
            return None
        rows = [RepositoryRow(repo.name, repo.created_at, len(repo.images), len(repo.tag_index),
                              sum(i.size for i in repo.images.values()), repo.image_tag_mutability,
                              repo.scan_on_push, max((i.pushed_at for i in repo.images.values()), default=None))
                for repo in state.repositories.values()]
    return sorted(rows, key=lambda r: r.name)


def private_images(backend, account: str, region: str, name: str) -> list[ImageRow] | None:
    with backend.lock:
        state = _registry(backend, PRIVATE, account, region)
        repo = state.repositories.get(name) if state is not None else None
        if repo is None:
            return None
        rows = [ImageRow(image.digest, sorted(image.tags), image.size, image.pushed_at, image.last_pulled_at,
                         image.media_type, image.artifact_type, scan_status(image))
                for image in repo.images.values()]
    return sorted(rows, key=lambda r: (r.pushed_at, r.digest), reverse=True)
