"""What the pytest fixtures ``ecr_events``, ``ecr_calls`` and ``ecr_faults`` (and ``mock_ecr``'s
``.events``, ``.calls``, ``.faults``) are: thin clients of ``/_emulator/events``, ``/calls`` and
``/faults``, over HTTP (a server) or in process (``mock_ecr``), with the same methods.

Standard library only (the plugin's rule: importing it costs nothing).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

#: ``fetch(method, path_with_query, body) -> (status, decoded JSON)``
Fetch = Callable[[str, str, dict | None], tuple[int, dict]]


def http_fetch(base_url: str, admin_token: str | None = None) -> Fetch:
    def fetch(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if admin_token:
            headers["Authorization"] = f"Bearer {admin_token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    return fetch


def flask_fetch(flask_app, admin_token: str | None = None) -> Fetch:
    """In process: through the emulator's Flask app (the admin guards apply alike)."""
    client = flask_app.test_client()
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}

    def fetch(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        response = client.open(path, method=method, json=body, headers=headers)
        return response.status_code, response.get_json(silent=True) or {}

    return fetch


def _query(**params) -> str:
    pairs = [(k, v) for k, values in params.items() if values is not None
             for v in (values if isinstance(values, (list, tuple)) else [values])]
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def _matches(found: dict, wanted: dict) -> bool:
    return all(found.get(key) == value for key, value in wanted.items())


def _wait(what: str, read: Callable[[], list[dict]], accept: Callable[[dict], bool], count: int,
          timeout: float, everything: Callable[[], list[dict]]) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [item for item in read() if accept(item)]
        if len(found) >= count:
            return found
        if time.monotonic() >= deadline:
            seen = everything()
            raise AssertionError(f"{len(found)} of the {count} {what} awaited within {timeout}s; all that was "
                                 f"recorded ({len(seen)}): {json.dumps(seen, default=str)[:4000]}")
        time.sleep(0.05)


class _EndpointClient:
    """``Client("http://127.0.0.1:5000")`` (a server; ``admin_token=`` with ``--admin-token``), or
    ``Client(fetch)`` with a :data:`Fetch` (``flask_fetch`` for an in-process emulator)."""

    def __init__(self, target: Fetch | str, admin_token: str | None = None) -> None:
        self._fetch = http_fetch(target.rstrip("/"), admin_token) if isinstance(target, str) else target


class EmulatorEvents(_EndpointClient):
    """The EventBridge events the emulator raised (``GET /_emulator/events``)."""

    def list(self, detail_type: str | list[str] | None = None, *, source: str | None = None,
             since: str | None = None) -> list[dict]:
        status, body = self._fetch("GET", "/_emulator/events" + _query(**{"detail-type": detail_type,
                                                                         "source": source, "since": since}), None)
        if status != 200:
            raise RuntimeError(f"GET /_emulator/events answered {status}: {body}")
        return body["events"]

    def delivery(self) -> dict | None:
        """The EventBridge delivery's counts (None without ``--eventbridge-endpoint``)."""
        return self._fetch("GET", "/_emulator/events", None)[1].get("delivery")

    def wait_for(self, detail_type: str | None = None, *, detail: dict | None = None, source: str | None = None,
                 count: int = 1, timeout: float = 30.0) -> dict:
        """The first event of ``detail_type`` whose ``detail`` has the items of ``detail``
        (``detail={"action-type": "PUSH", "image-tag": "v1"}``), waiting up to ``timeout``
        seconds until ``count`` such events were raised (scans and replication are background
        work). AssertionError (listing what was raised) on timeout."""
        return self.wait_for_all(detail_type, detail=detail, source=source, count=count, timeout=timeout)[0]

    def wait_for_all(self, detail_type: str | None = None, *, detail: dict | None = None,
                     source: str | None = None, count: int = 1, timeout: float = 30.0) -> list[dict]:
        """Like :meth:`wait_for`, all the matching events (at least ``count``)."""
        return _wait(f"{detail_type or 'events'}", lambda: self.list(detail_type, source=source),
                     lambda event: _matches(event["detail"], detail or {}), count, timeout, self.list)


class EmulatorCalls(_EndpointClient):
    """The CloudTrail-style call log (``GET /_emulator/calls``)."""

    def list(self, event_name: str | list[str] | None = None, *, event_source: str | None = None,
             since: str | None = None) -> list[dict]:
        status, body = self._fetch("GET", "/_emulator/calls" + _query(eventName=event_name, eventSource=event_source,
                                                                    since=since), None)
        if status != 200:
            raise RuntimeError(f"GET /_emulator/calls answered {status}: {body}")
        return body["calls"]

    def names(self) -> list[str]:
        """The ``eventName`` of every record, in order."""
        return [record["eventName"] for record in self.list()]

    def wait_for(self, event_name: str, *, parameters: dict | None = None, count: int = 1,
                 timeout: float = 30.0) -> dict:
        """The first ``event_name`` record whose ``requestParameters`` has the items of ``parameters``."""
        return _wait(event_name, lambda: self.list(event_name),
                     lambda record: _matches(record.get("requestParameters") or {}, parameters or {}), count,
                     timeout, self.list)[0]


class EmulatorFaults(_EndpointClient):
    """Fault rules (``/_emulator/faults``): ``add(operation="GetAuthorizationToken",
    error="ThrottlingException", count=2)`` or ``add(path="/v2/app/blobs/uploads/",
    method="POST", status=503, count=1)``."""

    def add(self, **rule) -> dict:
        status, body = self._fetch("POST", "/_emulator/faults", rule)
        if status != 201:
            raise ValueError(f"fault rule refused ({status}): {body.get('error', body)}")
        return body["fault"]

    def list(self) -> list[dict]:
        return self._fetch("GET", "/_emulator/faults", None)[1]["faults"]

    def remove(self, rule_id: str) -> None:
        status, body = self._fetch("DELETE", f"/_emulator/faults/{urllib.parse.quote(rule_id)}", None)
        if status != 200:
            raise KeyError(body.get("error", rule_id))

    def clear(self) -> None:
        self._fetch("DELETE", "/_emulator/faults", None)
