"""A bounded memory cache of small hot blobs (``--blob-cache-bytes``).

Blob bytes live in files (blobfiles.py); a blob small enough is read into memory on its first
GET and served from there until it is the least recently used when the budget is exceeded.
Only blobs up to :data:`ITEM_SHARE` of the budget are cached, so a few large layers cannot
evict every small one, and the cache is always a copy: dropping it loses nothing. A budget of
0 turns it off (every GET sends the file).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

#: the default budget: the RSS the cache may add
DEFAULT_BUDGET = 256 << 20
#: the largest blob cached, as a share of the budget (16 MiB at the default budget)
ITEM_SHARE = 16


class BlobCache:
    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = max(0, budget)
        self.max_item = self.budget // ITEM_SHARE
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_load(self, blob) -> bytes | None:
        """The bytes of ``blob`` (a FileBlob) if it fits the cache, read from its file on a
        miss; None when it is too big to cache (send the file instead)."""
        if blob.size > self.max_item:
            return None
        with self._lock:
            data = self._items.get(blob.digest)
            if data is not None:
                self._items.move_to_end(blob.digest)
                return data
        with blob.open() as f:
            data = f.read()
        if len(data) != blob.size:
            raise OSError(f"{blob.path} has {len(data)} bytes, the blob {blob.digest} has {blob.size}")
        with self._lock:
            if blob.digest not in self._items:
                self._items[blob.digest] = data
                self._bytes += len(data)
                while self._bytes > self.budget and self._items:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= len(old)
        return data

    def drop(self, digest: str) -> None:
        with self._lock:
            data = self._items.pop(digest, None)
            if data is not None:
                self._bytes -= len(data)

    def stats(self) -> tuple[int, int]:
        """Cached blobs and their bytes."""
        with self._lock:
            return len(self._items), self._bytes
