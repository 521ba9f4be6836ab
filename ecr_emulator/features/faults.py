"""Fault injection: make the emulator throttle, fail, stall or cut connections on purpose, so a
test can show that a deploy script survives what AWS and a flaky registry do.

``POST /_emulator/faults`` adds a rule, ``GET`` lists them (with how often each fired),
``DELETE`` clears them (``DELETE /_emulator/faults/<id>``: one); a reset clears them too.

- Control-plane rules name an ``operation`` (and optionally a ``service``: ``ecr`` or
  ``ecr-public``): ``{"operation": "GetAuthorizationToken", "error": "ThrottlingException",
  "count": 2}`` answers the next two calls with AWS's error form, ``{"__type":
  "ThrottlingException", "message": "Rate exceeded"}``, and the status AWS uses for it (400 for
  client errors such as throttling, 500 for ServerException/InternalFailure, 503 for
  ServiceUnavailable; ``"status"`` overrides), so an SDK's retry logic reacts as against AWS.
- Registry rules name a ``path`` (a prefix of the request path, or a pattern with ``*``) and
  optionally a ``method``: ``{"path": "/v2/app/blobs/uploads/", "method": "POST", "status":
  503, "count": 1}`` answers one upload start with 503 and an OCI error body;
  ``"resetAfterBytes": N`` lets the real answer through and cuts the connection after N bytes
  of its body (0: before any byte). The registry's side (waiting, the OCI error, the cut) is a
  WSGI middleware of the registry's (``registry/faults.py``), which asks this engine which rule fires.
- Either kind: ``"latencyMs"`` delays the request first (at most 60 s, holding no lock),
  ``"probability"`` (0-1) fires the rule on that share of the requests it matches, ``"count"``
  fires it that many times and then retires it (without ``count`` it stays), ``"message"``
  sets the error message.

A rule that fired is counted in ``hits``; the first matching rule that fires wins.
"""

from __future__ import annotations

import fnmatch
import itertools
import logging
import random
import threading
import time
from dataclasses import asdict, dataclass

from ..awsjson.aws_error import AwsError
from ..awsjson.services import load_service
from ..store.events import StateReset
from .endpoints import JSON, Call, Endpoint, Refused

log = logging.getLogger(__name__)

MAX_LATENCY_MS = 60_000
#: error names AWS answers with a status other than 400
ERROR_STATUS = {"ServerException": 500, "InternalFailure": 500, "InternalServerError": 500,
                "InternalServerException": 500, "ServiceUnavailable": 503, "ServiceUnavailableException": 503}
DEFAULT_MESSAGES = {"ThrottlingException": "Rate exceeded"}
_FIELDS = {"id", "operation", "service", "error", "message", "status", "path", "method", "count", "probability",
           "latencyMs", "resetAfterBytes"}


class BadRule(ValueError):
    pass


@dataclass
class Rule:
    id: str
    operation: str | None = None
    service: str | None = None
    error: str | None = None
    message: str | None = None
    status: int | None = None
    path: str | None = None
    method: str | None = None
    count: int | None = None
    probability: float | None = None
    latencyMs: int | None = None  # noqa: N815 -- the wire name
    resetAfterBytes: int | None = None  # noqa: N815
    hits: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else self.count - self.hits

    def matches_call(self, service: str, operation: str) -> bool:
        return self.operation == operation and self.service in (None, service)

    def matches_request(self, method: str, path: str) -> bool:
        if self.path is None or self.method not in (None, method):
            return False
        return fnmatch.fnmatchcase(path, self.path) if "*" in self.path else path.startswith(self.path)

    def wait(self) -> None:
        """``latencyMs`` first (bounded), holding no lock."""
        if self.latencyMs:
            time.sleep(min(self.latencyMs, MAX_LATENCY_MS) / 1000)

    def as_dict(self) -> dict:
        found = {k: v for k, v in asdict(self).items() if v is not None}
        if self.count is not None:
            found["remaining"] = self.remaining
        return found


def _number(body: dict, name: str, kind, low, high=None):
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value < low \
            or (high is not None and value > high):
        bound = f" and at most {high}" if high is not None else ""
        raise BadRule(f"{name} must be {'a number' if kind is float else 'an integer'} at least {low}{bound}")
    return kind(value)


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise BadRule(f"{name} must be a non-empty string")
    return value


def parse_rule(body: dict, rule_id: str) -> Rule:
    unknown = set(body) - _FIELDS
    if unknown:
        raise BadRule(f"unknown field(s) {sorted(unknown)}; a rule takes {sorted(_FIELDS - {'id'})}")
    rule = Rule(rule_id, operation=_text(body, "operation"), service=_text(body, "service"),
                error=_text(body, "error"), message=_text(body, "message"), path=_text(body, "path"),
                method=(_text(body, "method") or "").upper() or None,
                status=_number(body, "status", int, 100, 599), count=_number(body, "count", int, 1),
                probability=_number(body, "probability", float, 0, 1),
                latencyMs=_number(body, "latencyMs", int, 0, MAX_LATENCY_MS),
                resetAfterBytes=_number(body, "resetAfterBytes", int, 0))
    if (rule.operation is None) == (rule.path is None):
        raise BadRule('a rule names either an "operation" (control plane) or a "path" (registry)')
    if rule.operation is not None:
        if rule.service not in (None, "ecr", "ecr-public"):
            raise BadRule('service must be "ecr" or "ecr-public"')
        if not any(rule.operation in load_service(name).operation_names
                   for name in ((rule.service,) if rule.service else ("ecr", "ecr-public"))):
            raise BadRule(f"{rule.operation} is not an operation of {rule.service or 'ecr or ecr-public'}")
        if rule.method is not None or rule.resetAfterBytes is not None:
            raise BadRule('"method" and "resetAfterBytes" are for registry rules (with a "path")')
        if rule.error is None and rule.latencyMs is None:
            raise BadRule('a control-plane rule needs an "error" (e.g. ThrottlingException) or a "latencyMs"')
        if rule.error is not None and not rule.error.isidentifier():
            raise BadRule("error must be an AWS error name such as ThrottlingException")
        if rule.error is None and rule.status is not None:
            raise BadRule('"status" goes with an "error"')
    else:
        if not rule.path.startswith("/"):
            raise BadRule('path must start with "/" (e.g. /v2/<name>/blobs/uploads/)')
        if rule.service is not None or rule.error is not None:
            raise BadRule('"service" and "error" are for control-plane rules (with an "operation")')
        if rule.status is None and rule.latencyMs is None and rule.resetAfterBytes is None:
            raise BadRule('a registry rule needs a "status", a "latencyMs" or a "resetAfterBytes"')
        if rule.status is not None and rule.resetAfterBytes is not None:
            raise BadRule('"status" answers instead of the registry; "resetAfterBytes" cuts its answer: pick one')
    return rule


class Faults:
    """The rules, and what applies them: the AWS JSON door's interceptor (:meth:`intercept`) and
    the questions the registry's middleware asks (:attr:`active`, :meth:`fire_request`)."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._random = random.Random()

    def add(self, body: dict) -> Rule:
        rule = parse_rule(body, "")
        with self._lock:
            rule.id = f"fault-{next(self._ids)}"
            self._rules.append(rule)
        return rule

    def list(self) -> list[dict]:
        with self._lock:
            return [rule.as_dict() for rule in self._rules]

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            found, self._rules = len(kept) != len(self._rules), kept
        return found

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _fire(self, matches) -> Rule | None:
        """The first rule ``matches`` accepts that fires now (its hit counted; retired when spent)."""
        with self._lock:
            for rule in self._rules:
                if rule.remaining == 0 or not matches(rule):
                    continue
                if rule.probability is not None and self._random.random() >= rule.probability:
                    continue
                rule.hits += 1
                return rule
        return None

    # -- the control plane: an interceptor of awsjson's protocol ---------------------------
    def intercept(self, call) -> None:
        if not self._rules:
            return
        rule = self._fire(lambda r: r.matches_call(call.service.name, call.operation))
        if rule is None:
            return
        rule.wait()
        if rule.error is not None:
            error = AwsError(rule.message or DEFAULT_MESSAGES.get(rule.error, f"Injected {rule.error}."))
            error.code = rule.error
            error.status = rule.status or ERROR_STATUS.get(rule.error, 400)
            raise error

    # -- the registry: consulted by its middleware (registry/faults.py) -----------------------
    @property
    def active(self) -> bool:
        """Whether any rule is set (without one, requests go by untouched)."""
        return bool(self._rules)

    def fire_request(self, method: str, path: str) -> Rule | None:
        """The registry rule that fires for this request now (its hit counted), or None."""
        return self._fire(lambda r: r.matches_request(method, path))


def install(emulator_) -> None:
    faults = emulator_.faults = Faults()
    emulator_.protocol.interceptors.append(faults.intercept)
    emulator_.inline_vetoes.append(lambda: faults.active)  # a rule may delay a call: never on the loop
    emulator_.backend.events.subscribe(StateReset, lambda _event: faults.clear())


def add_fault(emulator_, call: Call):
    if call.body is None:
        raise Refused("send a JSON object: a fault rule")
    try:
        rule = emulator_.faults.add(call.body)
    except BadRule as error:
        raise Refused(str(error)) from None
    return {"fault": rule.as_dict()}, 201


def list_faults(emulator_, call: Call) -> dict:
    return {"faults": emulator_.faults.list()}


def clear_faults(emulator_, call: Call) -> dict:
    emulator_.faults.clear()
    return {"faults": []}


def remove_fault(emulator_, call: Call) -> dict:
    rule_id = call.params["rule_id"]
    if not emulator_.faults.remove(rule_id):
        raise Refused(f"no fault rule {rule_id}", 404)
    return {"faults": emulator_.faults.list()}


ENDPOINTS = (
    Endpoint("/faults", ("POST",), add_fault, body=JSON),
    Endpoint("/faults", ("GET",), list_faults),
    Endpoint("/faults", ("DELETE",), clear_faults),
    Endpoint("/faults/<rule_id>", ("DELETE",), remove_fault),
)
