"""A paging index of a repository's images, so a ListImages / DescribeImages page costs its size.

A listing is the images a filter keeps, in ``repo.images`` order, each standing for one or
more entries (DescribeImages: one per image; ListImages: one per tag, or one for an untagged
image); a ``nextToken`` is an offset into it. The first page is walked lazily (it stops once
it has its entries); a page deeper in would have to re-walk and re-filter every image before
its offset, so for those the listing is indexed once -- the kept images and the running count
of their entries, where a bisection finds the offset -- and reused while it is valid:

- the repository's images, tags and storage classes have not changed
  (``Repository.images_changes``, bumped by ``store/image_door.py`` and ``store/archive.py``; the
  image count is compared too);
- the clock has not passed a restore's completion (ACTIVATING turns ACTIVE then, which changes
  what the ``imageStatus`` filter keeps).

A few recent indexes are kept (least recently used first out); they hold references to images,
never copies.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime

from .model import Image, Repository

#: indexes kept at most (one per repository and filter being paged through)
MAX_INDEXES = 32


@dataclass
class _Index:
    repo: weakref.ref
    changes: int
    count: int
    #: the first restore completion after the build (None: none pending)
    valid_until: datetime | None
    images: list[Image]
    #: ``ends[i]``: the entries of ``images[0..i]``
    ends: list[int]

    def valid_for(self, repo: Repository, now: datetime) -> bool:
        return (self.repo() is repo and self.changes == repo.images_changes and self.count == len(repo.images)
                and (self.valid_until is None or now < self.valid_until))


_INDEXES: OrderedDict[tuple, _Index] = OrderedDict()
_LOCK = threading.Lock()


def entries(repo: Repository, key: Hashable, keep: Callable[[Image], bool],
            expand: Callable[[Image], list], start: int, now: datetime) -> Iterator:
    """The listing's entries from offset ``start`` on: ``expand(image)`` for each image ``keep``
    accepts. ``key`` names the listing (operation and filter) among the repository's."""
    if start == 0:
        return itertools.chain.from_iterable(map(expand, filter(keep, repo.images.values())))
    index = _index(repo, key, keep, expand, now)
    position = bisect.bisect_right(index.ends, start)
    if position >= len(index.images):
        return iter(())
    before = index.ends[position - 1] if position else 0
    head = expand(index.images[position])[start - before:]
    rest = map(expand, itertools.islice(index.images, position + 1, None))
    return itertools.chain(head, itertools.chain.from_iterable(rest))


def _index(repo: Repository, key: Hashable, keep, expand, now: datetime) -> _Index:
    cache_key = (id(repo), key)
    with _LOCK:
        index = _INDEXES.get(cache_key)
        if index is not None and index.valid_for(repo, now):
            _INDEXES.move_to_end(cache_key)
            return index
    images = [image for image in repo.images.values() if keep(image)]
    ends = list(itertools.accumulate(len(expand(image)) for image in images))
    pending = [image.activated_at for image in repo.images.values()
               if image.activated_at is not None and image.activated_at > now]
    index = _Index(weakref.ref(repo), repo.images_changes, len(repo.images), min(pending, default=None),
                   images, ends)
    with _LOCK:
        _INDEXES[cache_key] = index
        _INDEXES.move_to_end(cache_key)
        while len(_INDEXES) > MAX_INDEXES:
            _INDEXES.popitem(last=False)
    return index
