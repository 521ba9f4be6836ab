"""A CloudTrail-style record of every control-plane call and every registry request, served at
``GET /_emulator/calls``: what a test asserts its code called.

Records have CloudTrail's form for ECR (the "Logging Amazon ECR actions with AWS CloudTrail"
page): ``eventTime`` (the emulator's clock), ``eventSource`` (``ecr.amazonaws.com`` or
``ecr-public.amazonaws.com``), ``eventName``, ``awsRegion``, ``sourceIPAddress``,
``userAgent``, ``userIdentity`` (account, ARN, access key), ``requestParameters`` as sent,
``errorCode`` / ``errorMessage`` for a failure, ``requestID``, ``eventID``, ``readOnly``...
A registry request is recorded under the API action it stands for, as ECR logs it: a push is
InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload and PutImage, a pull BatchGetImage
and GetDownloadUrlForLayer (``registry/routes.py``'s ``ACTIONS``: the registry's dispatcher
tells its observers the action); requests that stand for no action (``GET /v2/``, the token
endpoint) are not recorded.

The log keeps the last ``--call-log-size`` records (``ECR_EMULATOR_CALL_LOG_SIZE``) and is
emptied by a reset. Layer bytes (UploadLayerPart's ``layerPartBlob``) are left out of
``requestParameters``, as CloudTrail leaves them out, and parameters or response elements over
100 KiB of JSON are recorded as null (CloudTrail's events are bounded too); responses are kept
for write calls only. A write call (not Describe/Get/List/
BatchGet/BatchCheck) of a private registry is also raised as EventBridge's
``AWS API Call via CloudTrail`` event, with its record as ``detail``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..awsjson.identity import principal_arn
from ..awsjson.services import load_service
from ..store.events import StateReset
from .endpoints import Call, Endpoint, Refused
from .eventbridge import API_CALL, ECR, LazyEvent, envelope, iso_z, time_bounds

EVENT_VERSION = "1.08"
#: requestParameters / responseElements larger than this (as JSON) are recorded as null, as
#: CloudTrail leaves out what exceeds its event size (bounds the log's memory: 4 MiB manifests)
MAX_ELEMENT_BYTES = 100 * 1024
SOURCES = {"ecr": "ecr.amazonaws.com", "ecr-public": "ecr-public.amazonaws.com"}
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "BatchGet", "BatchCheck")


def is_read_only(event_name: str) -> bool:
    return event_name.startswith(READ_ONLY_PREFIXES)


@lru_cache(maxsize=None)
def blob_members(service: str, operation: str) -> frozenset[str]:
    """The input members of ``operation`` that carry bytes (not recorded)."""
    try:
        shape = load_service(service).model.operation_model(operation).input_shape
    except Exception:  # noqa: BLE001 -- an unknown operation has none
        return frozenset()
    if shape is None:
        return frozenset()
    return frozenset(name for name, member in shape.members.items() if member.type_name == "blob")


@dataclass
class Record:
    """What is kept of one call until someone reads the log (rendered by :meth:`render`)."""

    time: datetime
    service: str
    event_name: str
    region: str
    account: str
    arn: str
    access_key: str | None
    source_ip: str
    user_agent: str
    parameters: Any
    request_id: str
    error_code: str | None = None
    error_message: str | None = None
    response: Any = None
    #: the caller's account when it is not the registry's (a registry request of another account)
    caller_account: str | None = None
    #: made at the first render (most records are never read: a uuid per call is measurable)
    event_id: str | None = None

    def render(self) -> dict:
        if self.event_id is None:
            self.event_id = str(uuid.uuid4())
        caller = self.caller_account or self.account
        if self.arn:
            identity = {"type": _identity_type(self.arn), "principalId": _principal_id(caller, self.arn),
                        "arn": self.arn, "accountId": caller}
        else:  # refused before the credentials were read
            identity = {"type": "Unknown", "accountId": caller}
        if self.access_key:
            identity["accessKeyId"] = self.access_key
        record = {
            "eventVersion": EVENT_VERSION, "userIdentity": identity, "eventTime": iso_z(self.time),
            "eventSource": SOURCES.get(self.service, self.service), "eventName": self.event_name,
            "awsRegion": self.region, "sourceIPAddress": self.source_ip, "userAgent": self.user_agent,
            "requestParameters": self.parameters, "responseElements": self.response,
            "requestID": self.request_id, "eventID": self.event_id, "readOnly": is_read_only(self.event_name),
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": self.account,
            "eventCategory": "Management",
        }
        if self.error_code:
            record["errorCode"] = self.error_code
            record["errorMessage"] = self.error_message or ""
        return record


def _identity_type(arn: str) -> str:
    if arn.endswith(":root"):
        return "Root"
    if ":assumed-role/" in arn:
        return "AssumedRole"
    return "IAMUser" if ":user/" in arn else "AWSAccount"


def _principal_id(account: str, arn: str) -> str:
    return account if arn.endswith(":root") else arn.rsplit("/", 1)[-1]


class CallLog:
    """The last ``limit`` records, oldest first."""

    def __init__(self, limit: int, clock, settings, publish=None) -> None:
        self._records: deque[Record] = deque(maxlen=max(limit, 1))
        self._lock = threading.Lock()
        self.clock = clock
        #: the default account and region (of a request refused before it was authenticated)
        self.settings = settings
        #: ``publish(event)``: where EventBridge's CloudTrail events of write calls go
        self._publish = publish

    def add(self, record: Record, private: bool = True) -> None:
        with self._lock:
            self._records.append(record)
        if self._publish is not None and private and not is_read_only(record.event_name):
            self._publish(LazyEvent(API_CALL, ECR, iso_z(record.time), lambda: envelope(
                API_CALL, record.render(), account=record.account, region=record.region, now=record.time)))

    def list(self, names: list[str], sources: list[str], since: str | None, until: str | None) -> list[dict]:
        with self._lock:
            records = list(self._records)
        rendered = (r.render() for r in records if not names or r.event_name in names)
        return [r for r in rendered
                if (not sources or r["eventSource"] in sources)
                and (since is None or r["eventTime"] >= since) and (until is None or r["eventTime"] <= until)]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    # -- the control plane (an observer of awsjson's protocol) ---------------------------
    def on_call(self, call) -> None:
        if call.service is None:
            return  # not an operation of a known service: nothing CloudTrail would name
        service = call.service.name
        request = call.request
        caller = call.caller
        if caller is None:  # refused before authentication: who it claimed to be
            from ..awsjson.identity import caller_from_headers

            try:
                caller = caller_from_headers(request.headers, self.settings.account, self.settings.region)
            except Exception:  # noqa: BLE001 -- an unusable scope: the defaults
                caller = None
        account = caller.account if caller else ""
        params = call.params if isinstance(call.params, dict) else None
        dropped = blob_members(service, call.operation)
        if params is not None and dropped:
            params = {k: v for k, v in params.items() if k not in dropped}
        response = call.result if call.error is None and not is_read_only(call.operation) else None
        # an element's strings add up to fewer characters than its JSON has bytes: a call whose
        # body (answer) is within the bound needs no walk of its parameters (response)
        if call.body_size > MAX_ELEMENT_BYTES:
            params = _bounded(params)
        if call.answer_size > MAX_ELEMENT_BYTES:
            response = _bounded(response)
        record = Record(
            self.clock.now(), service, call.operation, caller.region if caller else "", account,
            caller.principal_arn if caller else "", caller.access_key if caller else None,
            request.remote_addr or "", request.environ.get("HTTP_USER_AGENT", ""), params, call.request_id,
            call.error.error_code if call.error is not None else None,
            call.error.message if call.error is not None else None, response)
        self.add(record, private=service == "ecr")

    # -- the registry (an observer of registry/routes.py's dispatcher) -------------------
    def on_registry_request(self, request, action: str, params, ctx, response) -> None:
        """``action``: the private registry's action the request stands for (the registry's
        dispatcher tells: ``ecr:PutImage``), ``""`` for none."""
        if not action:
            return
        event_name = action.split(":", 1)[1]
        public = bool(request.environ.get("ecr_emulator.public"))
        if ctx is not None:
            account, region, arn = ctx.account, ctx.region, _registry_principal(ctx)
        else:
            account, region, arn = self.settings.account, self.settings.region, ""
        error_code = error_message = None
        if response.status_code >= 400:
            error_code, error_message = _oci_error(response)
        claims = getattr(ctx, "claims", None)
        record = Record(self.clock.now(), "ecr-public" if public else "ecr", event_name, region, account, arn,
                        getattr(claims, "access_key", "") or None, request.remote_addr or "",
                        request.environ.get("HTTP_USER_AGENT", ""),
                        _registry_parameters(request, action, params, account),
                        _request_id(response), error_code, error_message,
                        caller_account=getattr(ctx, "principal", None) if ctx is not None else None)
        self.add(record, private=not public)


def _bounded(element):
    """``element``, or None when its strings add up to more than :data:`MAX_ELEMENT_BYTES`
    (a manifest is what makes a call big; walking the few members costs less than encoding)."""
    if not element:
        return element
    budget = MAX_ELEMENT_BYTES
    pending = [element]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            budget -= len(value)
            if budget < 0:
                return None
        elif isinstance(value, dict):
            budget -= len(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            budget -= len(value)
            pending.extend(value)
    return element


def _registry_principal(ctx) -> str:
    arn = getattr(ctx, "principal_arn", "")
    return arn or principal_arn(ctx.account, None)


def _request_id(response) -> str:
    return response.headers.get("x-amzn-RequestId") or str(uuid.uuid4())


def _registry_parameters(request, action: str, params: dict, account: str) -> dict:
    """What the request named, in the API's member names (``registryId``, ``repositoryName``...)."""
    found = {"registryId": account, "repositoryName": params.get("name")}
    if "reference" in params:
        reference = params["reference"]
        found["imageDigest" if ":" in reference else "imageTag"] = reference
    if "digest" in params:
        found["layerDigest"] = params["digest"]
    if "upload_id" in params:
        found["uploadId"] = params["upload_id"]
    if action == "ecr:PutImage" and request.content_type:
        found["imageManifestMediaType"] = request.content_type.split(";")[0].strip()
    if request.args.get("digest"):
        found["layerDigests"] = [request.args["digest"]]
    if request.args.get("mount"):
        found.update(mountDigest=request.args["mount"], fromRepository=request.args.get("from"))
    return {k: v for k, v in found.items() if v is not None}


def _oci_error(response) -> tuple[str, str]:
    """The first OCI error of an error response (code, message)."""
    try:
        errors = json.loads(response.get_data())["errors"]
        return errors[0]["code"], errors[0].get("message", "")
    except (ValueError, KeyError, IndexError, TypeError):
        return f"HTTP{response.status_code}", ""


def install(emulator_) -> None:
    log = emulator_.call_log = CallLog(emulator_.settings.call_log_size, emulator_.backend.clock,
                                       emulator_.settings, emulator_.event_log.publish)
    emulator_.protocol.observers.append(log.on_call)
    emulator_.registry_observers.append(log.on_registry_request)
    emulator_.backend.events.subscribe(StateReset, lambda _event: log.clear())


def list_calls(emulator_, call: Call) -> dict:
    """The calls recorded so far, oldest first: ``?eventName=`` and ``?eventSource=``
    (repeatable), ``?since=`` / ``?until=`` (ISO 8601 times, inclusive)."""
    try:
        bounds = time_bounds(call.query)
    except ValueError as error:
        raise Refused(str(error)) from None
    calls = emulator_.call_log.list(call.query.getlist("eventName"), call.query.getlist("eventSource"),
                                    bounds.get("since"), bounds.get("until"))
    return {"calls": calls}


ENDPOINTS = (Endpoint("/calls", ("GET",), list_calls),)
