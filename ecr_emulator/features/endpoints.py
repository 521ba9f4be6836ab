"""The emulator endpoints an engine offers (``/_emulator/...``), declared as plain data.

Engines know nothing of HTTP, so that they can be used (and tested) without a web framework and
so that every ``/_emulator/...`` endpoint is served by one place with one set of guards. A
feature lists its endpoints as :class:`Endpoint` values in its module's ``ENDPOINTS``
(``features/__init__.py`` gathers them); the HTTP layer (``runtime/admin.py``) mounts each one
on its one blueprint, behind the admin guards (``Host`` check, cross-origin guard, admin token),
reads the inputs the endpoint declares, calls the handler and renders its answer:

- ``handler(emulator, call)`` gets the :class:`Call`: path variables, the query, and the body as
  the endpoint declared it (:data:`NO_BODY`, :data:`JSON`: a dict, or None when the body is not a
  JSON object; :data:`STREAM`: the raw input stream, for bodies too big to hold);
- it answers plain data: a dict (JSON, 200), ``(dict, status)``, or a :class:`Stream` (bytes
  with their media type and headers); or raises :class:`Refused`, answered
  ``{"error": message}`` with its status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

#: what a handler reads of the request body
NO_BODY, JSON, STREAM = "none", "json", "stream"


@dataclass(frozen=True)
class Call:
    """One request to an endpoint, as plain inputs."""

    #: the rule's path variables (``/faults/<rule_id>``: ``{"rule_id": ...}``)
    params: Mapping[str, str] = field(default_factory=dict)
    #: the query string (``get``, ``getlist`` for repeated names)
    query: MultiDict = field(default_factory=MultiDict)
    #: per :attr:`Endpoint.body`: None, the JSON object (None if the body is not one), or a stream
    body: Any = None


@dataclass(frozen=True)
class Endpoint:
    """``methods`` on ``/_emulator<rule>`` answered by ``handler(emulator, call)``; ``rule`` in
    werkzeug's rule syntax. The handler's name names the endpoint (unique across the emulator)."""

    rule: str
    methods: tuple[str, ...]
    handler: Callable[[Any, Call], Any]
    body: str = NO_BODY

    @property
    def name(self) -> str:
        return self.handler.__name__


class Refused(Exception):
    """The request cannot be served as sent: answered ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Stream:
    """An answer that is not JSON: ``chunks`` (bytes, produced as they are sent) of ``mimetype``."""

    chunks: Iterable[bytes]
    mimetype: str
    headers: Mapping[str, str] = field(default_factory=dict)
