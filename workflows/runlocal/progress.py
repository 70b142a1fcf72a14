"""Progress on stderr: a status line at most once a second, a redrawn bar on a terminal, or (for
tests and debugging) one line per state change.

Every reporter counts pods in O(1) per event: the engine reports each attempt starting
(`Running`), each attempt's end (a failure that is retried says so), and the number of pods the
run will have (`total`), which is exact once every fan-out has expanded. Time comes from an
injectable clock, so the throttling is tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

Clock = Callable[[], float]

_FAILED = ("Failed", "Error")
_BAR_WIDTH = 30
# Without a terminal (a log file, CI): at most one status line per this many seconds.
LINE_INTERVAL = 1.0
# On a terminal: the bar is redrawn at most this often.
REDRAW_INTERVAL = 0.1


class Reporter:
    """Prints one line per node or task state change: `  12.3s map(4:4)  Succeeded`.

    Two lines per pod: meant for tests and small runs; `reporter_for` picks a quieter one.
    """

    def __init__(self, stream: TextIO, clock: Clock = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.done = 0  # pods finished for good
        self.failed = 0  # of which failed or errored
        self.running: set[str] = set()
        self.planned = 0  # pods the run will have, as far as known
        self.complete = False  # every fan-out has expanded: `planned` is exact

    def _elapsed(self) -> str:
        return f"{self.clock() - self.started:7.1f}s"

    def _line(self, text: str) -> None:
        print(f"{self._elapsed()} {text}", file=self.stream, flush=True)

    def start(self, name: str) -> None:
        self._line(f"workflow {name} started")

    def total(self, pods: int, *, complete: bool) -> None:
        """How many pods the run has: exact when `complete`, else a lower bound."""
        self.planned, self.complete = pods, complete

    def node(self, name: str, phase: str, detail: str, *, retrying: bool = False) -> None:
        """A pod node (one attempt of a container) changed state; `retrying`: it failed and
        another attempt is queued."""
        self._count(name, phase, retrying)
        suffix = f"  {detail}" if detail else ""
        self._line(f"{name:<20} {phase}{suffix}")

    def _count(self, name: str, phase: str, retrying: bool) -> None:
        if phase == "Running":
            self.running.add(name)
            return
        self.running.discard(name)
        if not retrying:
            self.done += 1
            self.failed += phase in _FAILED

    def task(self, name: str, phase: str, detail: str) -> None:
        """A task changed state without a node of its own: fan-out, omitted, skipped, errored."""
        suffix = f"  {detail}" if detail else ""
        self._line(f"{name:<20} {phase}{suffix}")

    def finish(self, name: str, phase: str, message: str) -> None:
        suffix = f": {message}" if message else ""
        self._line(f"workflow {name} {phase}{suffix}")

    def status(self) -> str:
        """`1234/10002 pods done, 4 running, 1 failed, ETA 0:01:23`."""
        total = str(self.planned) if self.complete else f"{self.planned}+?"
        text = f"{self.done}/{total} pods done, {len(self.running)} running"
        if self.failed:
            text += f", {self.failed} failed"
        eta = self.eta()
        if eta is not None:
            text += f", ETA {_duration(eta)}"
        return text

    def eta(self) -> float | None:
        """Seconds left at the average pace so far, once the total is exact and a pod is done."""
        if not self.complete or not self.done:
            return None
        elapsed = self.clock() - self.started
        return elapsed / self.done * max(0, self.planned - self.done)


class LineReporter(Reporter):
    """Without a terminal: a status line at most once per `interval` seconds, failures folded
    into it (`last failure: ...`); the start and the end get their own lines."""

    def __init__(
        self, stream: TextIO, clock: Clock = time.monotonic, interval: float = LINE_INTERVAL
    ) -> None:
        super().__init__(stream, clock)
        self.interval = interval
        self.last_line: float | None = None  # when the last status line was printed
        self.last_failure = ""  # since that line

    def node(self, name: str, phase: str, detail: str, *, retrying: bool = False) -> None:
        self._count(name, phase, retrying)
        if phase in _FAILED:
            self.last_failure = f"{name} {phase}" + (f": {detail}" if detail else "")
        self._maybe_print()

    def task(self, name: str, phase: str, detail: str) -> None:
        if phase in _FAILED:
            self.last_failure = f"{name} {phase}" + (f": {detail}" if detail else "")
        self._maybe_print()

    def total(self, pods: int, *, complete: bool) -> None:
        super().total(pods, complete=complete)
        self._maybe_print()

    def _maybe_print(self) -> None:
        now = self.clock()
        if self.last_line is not None and now - self.last_line < self.interval:
            return
        self.last_line = now
        text = self.status()
        if self.last_failure:
            text += f"; last failure: {self.last_failure}"
            self.last_failure = ""
        self._line(text)

    def finish(self, name: str, phase: str, message: str) -> None:
        self._line(self.status())
        super().finish(name, phase, message)


class BarReporter(Reporter):
    """On a terminal: one bar, redrawn at most every `interval` seconds; failures still get
    their own lines."""

    def __init__(
        self, stream: TextIO, clock: Clock = time.monotonic, interval: float = REDRAW_INTERVAL
    ) -> None:
        super().__init__(stream, clock)
        self.interval = interval
        self.last_draw: float | None = None

    def node(self, name: str, phase: str, detail: str, *, retrying: bool = False) -> None:
        self._count(name, phase, retrying)
        if phase in _FAILED:
            self._clear()
            Reporter.task(self, name, phase, detail)
            self._draw(force=True)
            return
        self._draw()

    def task(self, name: str, phase: str, detail: str) -> None:
        if phase in _FAILED:
            self._clear()
            Reporter.task(self, name, phase, detail)
            self._draw(force=True)

    def total(self, pods: int, *, complete: bool) -> None:
        super().total(pods, complete=complete)
        self._draw(force=True)

    def _clear(self) -> None:
        self.stream.write("\r\033[K")

    def _draw(self, force: bool = False) -> None:
        now = self.clock()
        if not force and self.last_draw is not None and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        filled = _BAR_WIDTH * self.done // self.planned if self.planned else 0
        bar = "#" * min(filled, _BAR_WIDTH) + "-" * (_BAR_WIDTH - min(filled, _BAR_WIDTH))
        self._clear()
        self.stream.write(f"{self._elapsed()} [{bar}] {self.status()}")
        self.stream.flush()

    def finish(self, name: str, phase: str, message: str) -> None:
        self._draw(force=True)
        self.stream.write("\n")
        super().finish(name, phase, message)


def _duration(seconds: float) -> str:
    """`0:01:23`."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def reporter_for(stream: TextIO, clock: Clock = time.monotonic) -> Reporter:
    """A bar on a terminal, else a status line at most once a second."""
    return BarReporter(stream, clock) if stream.isatty() else LineReporter(stream, clock)
