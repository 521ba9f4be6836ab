"""``nextToken`` / ``maxResults`` paging as botocore's paginators expect it.

Tokens are opaque to clients (base64 of the next offset, bound to the operation so a token
of one listing is refused by another).

``items`` may be lazy (a generator, or a function giving the items from an offset on, as
``store/listing.py`` does for a repository's images): a page then costs what its items cost,
never building the whole listing -- ListImages / DescribeImages of a repository of 20,000
images answer a page as fast as for 1,000. The tokens are the same either way (offsets).
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import InvalidParameterException

DEFAULT_PAGE = 100


def _bad_token() -> InvalidParameterException:
    return InvalidParameterException(
        "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination token'"
    )


def paginate(items: Iterable[Any] | Callable[[int], Iterator[Any]], next_token: str | None, max_results: int | None,
             scope: str, default: int = DEFAULT_PAGE) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next page (None on the last page). ``items``:
    the whole listing, or a function giving its items from an offset on (``store/listing.py``)."""
    start = 0
    if next_token:
        try:
            data = json.loads(base64.urlsafe_b64decode(next_token.encode()))
            start, token_scope = int(data["o"]), data["s"]
        except (ValueError, KeyError, TypeError, OverflowError):
            raise _bad_token() from None
        if token_scope != scope or start < 0:
            raise _bad_token()
    size = max_results or default
    # one item past the page says whether there is a next page, without counting the rest
    if callable(items):
        page = list(itertools.islice(items(start), size + 1))
    else:
        page = list(itertools.islice(items, start, start + size + 1))
    if len(page) <= size:
        return page, None
    del page[size:]
    end = start + size
    token = base64.urlsafe_b64encode(json.dumps({"o": end, "s": scope}).encode()).decode()
    return page, token
