"""Numbers and times as the ECR Public Gallery words them on its cards: "118K+ downloads",
"Updated 5 months ago", "1 tag"."""

from __future__ import annotations

from datetime import datetime

#: (threshold, suffix): counts from 1000 up are shown floored, as the gallery does ("118K+")
_MAGNITUDES = ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K"))


def plural(count: int, word: str) -> str:
    """``1 tag``, ``2 tags``, ``0 tags``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def downloads(count: int) -> str:
    """``0 downloads``, ``1 download``, ``999 downloads``, ``1K+ downloads``, ``118K+ downloads``,
    ``2M+ downloads``: exact below a thousand, floored to the largest unit with a ``+`` above."""
    for threshold, suffix in _MAGNITUDES:
        if count >= threshold:
            return f"{count // threshold}{suffix}+ downloads"
    return plural(count, "download")


def ago(when: datetime, now: datetime) -> str:
    """How long before ``now`` (the emulator's clock) ``when`` was, in the words of the
    gallery's relative times (moment.js's thresholds): "a few seconds ago", "5 minutes ago",
    "an hour ago", "3 days ago", "5 months ago", "2 years ago"."""
    seconds = max(0.0, (now - when).total_seconds())
    minutes, hours, days = seconds / 60, seconds / 3600, seconds / 86400
    if seconds < 45:
        return "a few seconds ago"
    if seconds < 90:
        return "a minute ago"
    if minutes < 45:
        return f"{round(minutes)} minutes ago"
    if minutes < 90:
        return "an hour ago"
    if hours < 22:
        return f"{round(hours)} hours ago"
    if hours < 36:
        return "a day ago"
    if days < 26:
        return f"{round(days)} days ago"
    if days < 45:
        return "a month ago"
    if days < 320:
        return f"{max(2, round(days / 30.44))} months ago"
    if days < 548:
        return "a year ago"
    return f"{round(days / 365.25)} years ago"
