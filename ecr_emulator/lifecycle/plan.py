"""What a lifecycle policy does to a repository now: the one computation behind both the
preview (GetLifecyclePolicyPreview) and a run (``features/lifecycle_runs.py``), so they agree.

ECR's evaluation rules, as its user guide states them:

- rules are applied in ascending ``rulePriority``; an image is acted on by one rule at most;
- an image that matches the tag criteria of a rule cannot be acted on by a rule of lower
  priority (a higher number), but that rule still counts it, as if it were kept;
- ``tagPatternList`` / ``tagPrefixList``: an image matches when *every* entry matches one of
  its tags (a pattern: ``*`` wildcards, whole tag; a prefix: the tag's start); when both are
  given the pattern list decides;
- ``imageCountMoreThan N``: of the matching images, newest push first, all after the first N;
  ``sinceImagePushed`` / ``sinceImagePulled`` / ``sinceImageTransitioned N days``: pushed,
  last pulled (push time when never pulled) or archived more than N days ago;
- a rule selects images of its ``storageClass`` only (standard by default): images being
  restored count as standard but are not acted on until their restore completes;
- older images go before newer ones.

And what goes with an acted-on image, so that a run never breaks what remains: OCI referrers
(signatures, SBOMs) go with their subject, expired or archived (as ECR does); an image that
an image index still references, and the index is not going too, is left alone (ECR refuses
to delete such an image: ImageReferencedByManifestList).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..identity.conditions import wildcard
from ..store import archive
from ..store.model import Image, Repository
from .policy import Rule

EXPIRE = "EXPIRE"
TRANSITION = "TRANSITION"


@dataclass(frozen=True)
class Decision:
    image: Image
    rule: Rule
    #: ``EXPIRE`` or ``TRANSITION`` (to ARCHIVE)
    action: str


def plan(repo: Repository, rules: list[Rule], now: datetime) -> list[Decision]:
    """Every image the policy acts on now, oldest first, with the rule that acts on it."""
    images = sorted(repo.images.values(), key=lambda i: (i.pushed_at, i.digest), reverse=True)
    decided: dict[str, Decision] = {}
    claimed: set[str] = set()  # matched by the tag criteria of a rule of higher priority
    for rule in sorted(rules, key=lambda r: r.priority):
        matching = [image for image in images if _selects(rule, image)]
        action = TRANSITION if rule.action == "transition" else EXPIRE
        for image in _counted_out(rule, matching, now):
            if image.digest in decided or image.digest in claimed:
                continue
            if not archive.is_pullable(image, now) and rule.storage_class == "standard":
                continue  # being restored: acted on once its restore completes
            decided[image.digest] = Decision(image, rule, action)
        claimed.update(image.digest for image in matching)
    linked = archive.links(repo)
    _add_referrers(linked, decided)
    _keep_referenced(repo, linked, decided)
    return sorted(decided.values(), key=lambda d: (d.image.pushed_at, d.image.digest))


def _selects(rule: Rule, image: Image) -> bool:
    if (rule.storage_class == "archive") != archive.is_archived(image):
        return False
    if rule.tag_status == "untagged":
        return not image.tags
    if rule.tag_status == "any":
        return True
    if not image.tags:
        return False
    if rule.patterns:
        return all(any(wildcard(p, any_char=False).fullmatch(tag) for tag in image.tags) for p in rule.patterns)
    return all(any(tag.startswith(p) for tag in image.tags) for p in rule.prefixes)


def _counted_out(rule: Rule, newest_first: list[Image], now: datetime) -> list[Image]:
    """The matching images the rule's count selects."""
    if rule.count_type == "imageCountMoreThan":
        return newest_first[rule.count_number:]
    limit = timedelta(days=rule.count_number)
    return [image for image in newest_first if now - _age_from(rule, image) > limit]


def _age_from(rule: Rule, image: Image) -> datetime:
    if rule.count_type == "sinceImagePulled":
        return image.last_pulled_at or image.pushed_at
    if rule.count_type == "sinceImageTransitioned":
        return image.archived_at or image.pushed_at
    return image.pushed_at


def _add_referrers(linked: archive.Links, decided: dict[str, Decision]) -> None:
    """Referrers of an expired or archived subject go with it (recursively), by the same rule."""
    pending = list(decided.values())
    while pending:
        subject = pending.pop()
        for image in linked.referrers.get(subject.image.digest, ()):
            if image.digest in decided:
                continue
            if subject.action == TRANSITION and archive.is_archived(image):
                continue
            decided[image.digest] = Decision(image, subject.rule, subject.action)
            pending.append(decided[image.digest])


def _keep_referenced(repo: Repository, linked: archive.Links, decided: dict[str, Decision]) -> None:
    """Drop images an index that stays (in their class) still references, until none is left.

    An expired image must not be referenced by an index that remains; an archived one by an
    index that remains pullable. An index that is archived takes the manifests it references
    with it (``store/archive.py``), so those are added instead.
    """
    changed = True
    while changed:
        changed = False
        for digest, decision in list(decided.items()):
            for parent in linked.parents.get(digest, ()):
                going = decided.get(parent.digest)
                if decision.action == EXPIRE:
                    stays = going is None or going.action != EXPIRE
                else:
                    stays = going is None and not archive.is_archived(parent)
                if stays:
                    del decided[digest]
                    changed = True
                    break
        for decision in list(decided.values()):
            if decision.action != TRANSITION or not decision.image.children:
                continue
            for child in archive.companions(repo, decision.image, archive.ARCHIVE, linked):
                if child.digest not in decided and not archive.is_archived(child):
                    decided[child.digest] = Decision(child, decision.rule, TRANSITION)
                    changed = True
