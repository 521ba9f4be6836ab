"""Version ordering per ecosystem, as each package manager orders its own versions.

``compare(scheme, a, b)`` is negative, zero or positive like ``a - b``. Schemes: ``dpkg``
(Debian policy: epoch, upstream and revision with ``~`` sorting first), ``rpm`` (rpmvercmp,
``~`` and ``^`` included), ``apk`` (Alpine: numbers, a letter, ``_alpha`` ... ``_p`` suffixes,
``-rN``), ``pep440`` (``packaging``) and ``semver`` (npm: pre-releases before the release).
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion, Version


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


# -- dpkg ------------------------------------------------------------------------------------

def _order(c: str) -> int:
    if not c or c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i] if i < len(a) else "")
            bc = _order(b[j] if j < len(b) else "")
            if ac != bc:
                return _sign(ac - bc)
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return _sign(first_diff)
    return 0


def _split_evr(version: str) -> tuple[int, str, str]:
    epoch, sep, rest = version.partition(":")
    if not sep or not epoch.isdigit():
        epoch, rest = "0", version
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch), upstream, revision


def dpkg_compare(a: str, b: str) -> int:
    ea, ua, ra = _split_evr(a)
    eb, ub, rb = _split_evr(b)
    return _sign(ea - eb) or _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


# -- rpm -------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"^[^A-Za-z0-9~^]+")


def rpmvercmp(a: str, b: str) -> int:
    if a == b:
        return 0
    while a or b:
        a, b = _SEPARATORS.sub("", a), _SEPARATORS.sub("", b)
        if a.startswith("~") or b.startswith("~"):
            if not a.startswith("~"):
                return 1
            if not b.startswith("~"):
                return -1
            a, b = a[1:], b[1:]
            continue
        if a.startswith("^") or b.startswith("^"):
            if not a:
                return -1
            if not b:
                return 1
            if not a.startswith("^"):
                return 1
            if not b.startswith("^"):
                return -1
            a, b = a[1:], b[1:]
            continue
        if not a or not b:
            break
        pattern = r"^[0-9]+" if a[0].isdigit() else r"^[A-Za-z]+"
        sa = re.match(pattern, a).group(0)
        mb = re.match(pattern, b)
        if mb is None:
            return 1 if a[0].isdigit() else -1
        sb = mb.group(0)
        a, b = a[len(sa):], b[len(sb):]
        if sa[0].isdigit():
            na, nb = sa.lstrip("0"), sb.lstrip("0")
            result = _sign(len(na) - len(nb)) or _sign((na > nb) - (na < nb))
        else:
            result = _sign((sa > sb) - (sa < sb))
        if result:
            return result
    if not a and not b:
        return 0
    return 1 if a else -1


def rpm_compare(a: str, b: str) -> int:
    ea, va, ra = _split_evr(a)
    eb, vb, rb = _split_evr(b)
    return _sign(ea - eb) or rpmvercmp(va, vb) or rpmvercmp(ra, rb)


# -- apk -------------------------------------------------------------------------------------

_APK = re.compile(r"^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:~[0-9a-f]+)?(?:-r(\d+))?$")
_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)")
_SUFFIX_RANK = {"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "": 4, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}


@lru_cache(maxsize=4096)
def _apk_key(version: str):
    match = _APK.match(version)
    if match is None:
        return None
    numbers = tuple(int(n) for n in match.group(1).split("."))
    suffixes = tuple((_SUFFIX_RANK[s], int(n or 0)) for s, n in _SUFFIX.findall(match.group(3)))
    return numbers, match.group(2), suffixes, int(match.group(4) or 0)


def apk_compare(a: str, b: str) -> int:
    ka, kb = _apk_key(a), _apk_key(b)
    if ka is None or kb is None:
        return dpkg_compare(a, b)
    (na, la, sa, ra), (nb, lb, sb, rb) = ka, kb
    if na != nb:
        return -1 if na < nb else 1
    if la != lb:
        return -1 if la < lb else 1
    width = max(len(sa), len(sb))
    pad = (_SUFFIX_RANK[""], 0)
    sa, sb = sa + (pad,) * (width - len(sa)), sb + (pad,) * (width - len(sb))
    if sa != sb:
        return -1 if sa < sb else 1
    return _sign(ra - rb)


# -- PEP 440 and semver ------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _pep440(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def pep440_compare(a: str, b: str) -> int:
    va, vb = _pep440(a), _pep440(b)
    if va is None or vb is None:
        return dpkg_compare(a, b)
    return -1 if va < vb else (1 if va > vb else 0)


_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _prerelease_key(part: str):
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


def semver_compare(a: str, b: str) -> int:
    ma, mb = _SEMVER.match(a.strip()), _SEMVER.match(b.strip())
    if ma is None or mb is None:
        return dpkg_compare(a, b)
    core_a = tuple(int(x or 0) for x in ma.groups()[:3])
    core_b = tuple(int(x or 0) for x in mb.groups()[:3])
    if core_a != core_b:
        return -1 if core_a < core_b else 1
    pa, pb = ma.group(4), mb.group(4)
    if pa == pb:
        return 0
    if pa is None:
        return 1
    if pb is None:
        return -1
    ka = [_prerelease_key(p) for p in pa.split(".")]
    kb = [_prerelease_key(p) for p in pb.split(".")]
    return -1 if ka < kb else (1 if ka > kb else 0)


SCHEMES = {"dpkg": dpkg_compare, "rpm": rpm_compare, "apk": apk_compare, "pep440": pep440_compare,
           "semver": semver_compare}


def compare(scheme: str, a: str, b: str) -> int:
    return SCHEMES[scheme](a, b)
