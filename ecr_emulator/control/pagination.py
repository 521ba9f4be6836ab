"""``nextToken`` / ``maxResults`` paging as botocore's paginators expect it.

Tokens are opaque to clients (base64 of the next offset, bound to the operation so a token
of one listing is refused by another).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidParameterException

DEFAULT_PAGE = 100


def _bad_token() -> InvalidParameterException:
    return InvalidParameterException(
        "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination token'"
    )


def paginate(items: Sequence[Any], next_token: str | None, max_results: int | None,
             scope: str, default: int = DEFAULT_PAGE) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next page (None on the last page)."""
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
    page = list(items[start:start + size])
    end = start + size
    if end >= len(items):
        return page, None
    token = base64.urlsafe_b64encode(json.dumps({"o": end, "s": scope}).encode()).decode()
    return page, token
