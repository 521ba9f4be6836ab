"""The matching half of IAM's evaluation (``iam.py`` holds principals, requests and
decisions): ``*``/``?`` wildcards (also ECR's ``*``-only filters, for the store), IAM's ARN match
(each of the six colon-separated parts on its own), policy variables (``${aws:username}``,
``${aws:PrincipalTag/team}``, ``${aws:username, 'default'}``, ``${*}``...) and the condition
operators (string, ARN, numeric, date, boolean, IP address, ``Null``; ``IfExists``; the
``ForAnyValue:``/``ForAllValues:`` set prefixes).

Pure functions over strings: no import from the rest of the package, so ``store/`` may use them.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone
from functools import lru_cache


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s][^,]*?)\s*,\s*'([^']*)'\s*$")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


class _Unresolved(Exception):
    """A policy variable whose key the request does not carry (and that has no default)."""


def _substitute(text: str, values: dict[str, list[str]]) -> list[tuple[bool, str]]:
    """``text`` as (literal?, piece) pairs: variables replaced by their (literal) values."""
    pieces, last = [], 0
    for match in _VARIABLE.finditer(text):
        pieces.append((False, text[last:match.start()]))
        inner = match.group(1)
        default = _DEFAULT.match(inner)
        key, fallback = (default.group(1), default.group(2)) if default else (inner.strip(), None)
        if key in _LITERALS:
            pieces.append((True, _LITERALS[key]))
        else:
            found = values.get(key.lower())
            if found and len(found) == 1:
                pieces.append((True, found[0]))
            elif fallback is not None:
                pieces.append((True, fallback))
            else:
                raise _Unresolved(key)
        last = match.end()
    pieces.append((False, text[last:]))
    return pieces


def _expand(text: str, values: dict[str, list[str]] | None) -> str | None:
    """``text`` with its policy variables replaced (None: one has no value)."""
    if values is None or "${" not in text:
        return text
    try:
        return "".join(piece for _, piece in _substitute(text, values))
    except _Unresolved:
        return None


@lru_cache(maxsize=4096)
def wildcard(pattern: str, *, any_char: bool = True, ignore_case: bool = False) -> re.Pattern:
    """The matcher of wildcard ``pattern`` (use ``fullmatch``): ``*`` matches any run of
    characters, ``?`` one character when ``any_char`` (IAM's patterns), everything else itself.

    ECR's own filters (tag mutability exclusions, lifecycle tag patterns, scanning and signing
    repository filters) know only ``*``: ``wildcard(filter, any_char=False)``."""
    return re.compile(_regex([(False, pattern)], any_char), re.S | (re.I if ignore_case else 0))


def _regex(pieces: list[tuple[bool, str]], any_char: bool = True) -> str:
    parts = []
    for literal, piece in pieces:
        if literal:
            parts.append(re.escape(piece))
        else:
            parts.extend(".*" if c == "*" else "." if c == "?" and any_char else re.escape(c) for c in piece)
    return "".join(parts)


def like(pattern, value: str, ignore_case: bool = False, values: dict[str, list[str]] | None = None) -> bool:
    """``*``/``?`` wildcard match of the whole ``value``; with ``values``, policy variables in
    ``pattern`` are replaced first (their values match literally)."""
    if not isinstance(pattern, str):
        return False
    if values is None or "${" not in pattern:
        return bool(wildcard(pattern, ignore_case=ignore_case).fullmatch(value))
    try:
        regex = _regex(_substitute(pattern, values))
    except _Unresolved:
        return False
    return bool(re.fullmatch(regex, value, re.S | (re.I if ignore_case else 0)))


def arn_like(pattern: str, value: str, values: dict[str, list[str]] | None = None) -> bool:
    """IAM's ARN match: each of the six colon-separated parts on its own, so a ``*`` never
    crosses a colon (``arn:aws:ecr:*:111122223333:repository/*`` does not match another account's
    ARN through a ``*`` in the region)."""
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(like(w, a, values=values) for w, a in zip(wanted, actual, strict=True))



#: the condition operators IAM has (``Not`` forms, ``IfExists`` and set prefixes come on top)
OPERATORS = (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
    "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
    "ArnNotLike", "Null",
)


def operator_known(name: str) -> bool:
    """Whether ``name`` (``ForAnyValue:StringLikeIfExists``...) is an IAM condition operator."""
    qualifier, _, operator = name.rpartition(":")
    if qualifier and qualifier.lower() not in ("foranyvalue", "forallvalues"):
        return False
    operator = operator.removesuffix("IfExists") if operator != "Null" else operator
    return operator in OPERATORS


def conditions_hold(condition: dict, values: dict[str, list[str]], variables: bool = False) -> bool:
    """Every operator block holds; within a block every key holds; a key holds when any of the
    policy's values matches (for ``Not`` operators: when none does)."""
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return False
        for key, wanted in block.items():
            texts = [_text(w) for w in as_list(wanted)]
            if variables:
                texts = [t for t in (_expand(t, values) for t in texts) if t is not None]
            if not _condition_holds(operator, values.get(key.lower()), texts):
                return False
    return True


def _text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _condition_holds(operator: str, present: list[str] | None, wanted: list[str]) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    qualifier = qualifier.lower()
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return bool(wanted) and (present is None) == (wanted[0].lower() == "true")
    negated = "Not" in operator
    if present is None:
        # IAM User Guide, "Condition operators" (Important): a missing key matches nothing, so a
        # negated operator (StringNotLike, ArnNotLike...) holds; over no values, ForAllValues holds
        # (an empty set is a subset of any set) and ForAnyValue does not
        if qualifier:
            return if_exists or qualifier == "forallvalues"
        return if_exists or negated
    base = "IpAddress" if operator == "NotIpAddress" else operator.replace("Not", "")
    test = _OPERATORS.get(base)
    if test is None:
        return False  # an operator this evaluator does not know grants nothing

    def one(value: str) -> bool:
        matched = any(test(w, value) for w in wanted)
        return not matched if negated else matched

    if qualifier == "forallvalues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)


def _numeric(op):
    def compare(wanted: str, value: str) -> bool:
        try:
            return op(float(value), float(wanted))
        except ValueError:
            return False

    return compare


def _instant(text: str) -> float | None:
    """A date as IAM takes it: ISO 8601 (``2026-01-01T00:00:00Z``, or a date) or epoch seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _date(op):
    def compare(wanted: str, value: str) -> bool:
        a, b = _instant(value), _instant(wanted)
        return a is not None and b is not None and op(a, b)

    return compare


def _ip(wanted: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value.strip()) in ipaddress.ip_network(wanted.strip(), strict=False)
    except ValueError:
        return False


_OPERATORS = {
    "StringEquals": lambda w, v: w == v,
    "StringEqualsIgnoreCase": lambda w, v: w.lower() == v.lower(),
    "StringLike": lambda w, v: like(w, v),
    "ArnEquals": lambda w, v: arn_like(w, v),
    "ArnLike": lambda w, v: arn_like(w, v),
    "Bool": lambda w, v: w.lower() == v.lower(),
    "BinaryEquals": lambda w, v: w == v,
    "IpAddress": _ip,
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    "DateEquals": _date(lambda a, b: a == b),
    "DateLessThan": _date(lambda a, b: a < b),
    "DateLessThanEquals": _date(lambda a, b: a <= b),
    "DateGreaterThan": _date(lambda a, b: a > b),
    "DateGreaterThanEquals": _date(lambda a, b: a >= b),
}
