"""Argo's retryStrategy.backoff, as the controller's processNodeRetries applies it.

After a failed attempt of a node, with n attempts so far, the first started at S and the last
finished at F (maxDuration unset: no bound):

1. now > S + maxDuration: no retry, "Max duration limit exceeded".
2. wait = duration * factor^(n - 1) (factor unset or 0: duration). F + wait > S + maxDuration:
   no retry, "Backoff would exceed max duration limit".
3. Otherwise, if the retry policy and limit allow one, the retry starts at F + wait, and its pod
   gets S + maxDuration as its deadline (Argo's executionDeadline), so maxDuration also bounds a
   running retry, not just the decision to start one.

Durations are read as Argo's ParseStringToDuration does: a whole number of seconds, or a Go
duration such as 1h30m, 1.5s or 300ms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_DURATION_EXCEEDED = "Max duration limit exceeded"
BACKOFF_EXCEEDS_MAX_DURATION = "Backoff would exceed max duration limit"

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


class BackoffError(ValueError):
    """A backoff field Argo would not accept; the message names it and the value."""


@dataclass(frozen=True)
class Backoff:
    duration: float  # seconds before the first retry
    factor: int | None  # multiplier per further retry; None or <= 0: no growth
    max_duration: float | None  # seconds from the first attempt's start; None: unbounded

    def wait(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt before the next one."""
        if self.factor is not None and self.factor > 0:
            return self.duration * self.factor ** (attempts - 1)
        return self.duration


def parse(backoff: Mapping[str, Any], where: str) -> Backoff:
    """A template's `retryStrategy.backoff` (variables already substituted)."""
    if "duration" not in backoff or str(backoff["duration"]) == "":
        # Argo fails the node the same way: "no base duration specified for retryStrategy".
        raise BackoffError(f"{where}.duration is missing: a backoff needs a base duration")
    factor = None
    if "factor" in backoff:
        try:
            factor = int(str(backoff["factor"]).strip())
        except ValueError:
            raise BackoffError(
                f"{where}.factor {backoff['factor']!r} is not a whole number"
            ) from None
    max_duration = None
    if str(backoff.get("maxDuration", "")) != "":
        max_duration = parse_duration(backoff["maxDuration"], f"{where}.maxDuration")
    return Backoff(parse_duration(backoff["duration"], f"{where}.duration"), factor, max_duration)


def parse_duration(value: Any, what: str) -> float:
    """Seconds of an Argo duration: whole seconds ("30") or a Go duration ("1m30s")."""
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        return float(text)
    parts = _GO_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise BackoffError(
            f"{what} {value!r} is not a duration: use whole seconds (e.g. 30) or a Go duration "
            "(e.g. 1h30m, 1.5s, 300ms)"
        )
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)
