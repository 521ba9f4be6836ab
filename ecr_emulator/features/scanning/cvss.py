"""CVSS base scores from vectors (OSV carries vectors, ECR reports scores) and severities.

CVSS v3.0/v3.1 and v2 base scores are computed with the specifications' formulas; v4 vectors
are kept without a score.
"""

from __future__ import annotations

import math

_V3 = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_V3_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_V2 = {
    "AV": {"L": 0.395, "A": 0.646, "N": 1.0},
    "AC": {"H": 0.35, "M": 0.61, "L": 0.71},
    "Au": {"M": 0.45, "S": 0.56, "N": 0.704},
    "C": {"N": 0.0, "P": 0.275, "C": 0.660},
    "I": {"N": 0.0, "P": 0.275, "C": 0.660},
    "A": {"N": 0.0, "P": 0.275, "C": 0.660},
}


def _metrics(vector: str) -> dict[str, str]:
    parts = [p for p in vector.split("/") if ":" in p]
    return dict(p.split(":", 1) for p in parts)


def _roundup(value: float) -> float:
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def v3_score(vector: str) -> float | None:
    m = _metrics(vector)
    try:
        scope = m["S"]
        iss = 1 - (1 - _V3["C"][m["C"]]) * (1 - _V3["I"][m["I"]]) * (1 - _V3["A"][m["A"]])
        impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
        exploitability = 8.22 * _V3["AV"][m["AV"]] * _V3["AC"][m["AC"]] * _V3_PR[scope][m["PR"]] * _V3["UI"][m["UI"]]
    except KeyError:
        return None
    if impact <= 0:
        return 0.0
    total = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    return _roundup(min(total, 10.0))


def v2_score(vector: str) -> float | None:
    m = _metrics(vector)
    try:
        impact = 10.41 * (1 - (1 - _V2["C"][m["C"]]) * (1 - _V2["I"][m["I"]]) * (1 - _V2["A"][m["A"]]))
        exploitability = 20 * _V2["AV"][m["AV"]] * _V2["AC"][m["AC"]] * _V2["Au"][m["Au"]]
    except KeyError:
        return None
    f = 0 if impact == 0 else 1.176
    return round(((0.6 * impact) + (0.4 * exploitability) - 1.5) * f + 1e-9, 1)


def severity_of_score(score: float, version: str) -> str:
    """ECR's FindingSeverity for a base score (v2 has no CRITICAL band)."""
    if score == 0:
        return "INFORMATIONAL"
    if score < 4:
        return "LOW"
    if score < 7:
        return "MEDIUM"
    if score < 9 or version.startswith("2"):
        return "HIGH"
    return "CRITICAL"


#: textual severities of feeds (GHSA, Debian urgency, Ubuntu priority) -> ECR's
WORDS = {
    "CRITICAL": "CRITICAL", "HIGH": "HIGH", "IMPORTANT": "HIGH", "MODERATE": "MEDIUM", "MEDIUM": "MEDIUM",
    "LOW": "LOW", "NEGLIGIBLE": "INFORMATIONAL", "UNIMPORTANT": "INFORMATIONAL", "INFORMATIONAL": "INFORMATIONAL",
    "NONE": "INFORMATIONAL",
}
