"""Progress on stderr: one line per state change, or a single redrawn bar on a terminal."""

from __future__ import annotations

import time
from typing import TextIO

_DONE = {"Succeeded", "Failed", "Error", "Skipped", "Omitted"}
_BAR_WIDTH = 30


class Reporter:
    """Prints one line per node or task state change: `  12.3s map(4:4)  Succeeded`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:7.1f}s"

    def start(self, name: str) -> None:
        print(f"{self._elapsed()} workflow {name} started", file=self.stream, flush=True)

    def node(self, name: str, phase: str, detail: str) -> None:
        """A pod node (one attempt of a container) changed state."""
        suffix = f"  {detail}" if detail else ""
        print(f"{self._elapsed()} {name:<20} {phase}{suffix}", file=self.stream, flush=True)

    def task(self, name: str, phase: str, detail: str) -> None:
        """A task changed state without a node of its own: fan-out, omitted, skipped, errored."""
        Reporter.node(self, name, phase, detail)

    def finish(self, name: str, phase: str, message: str) -> None:
        suffix = f": {message}" if message else ""
        print(f"{self._elapsed()} workflow {name} {phase}{suffix}", file=self.stream, flush=True)


class BarReporter(Reporter):
    """On a terminal: one redrawn bar of finished pod nodes; failures still get their lines."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.phases: dict[str, str] = {}

    def node(self, name: str, phase: str, detail: str) -> None:
        self.phases[name] = phase
        if phase in ("Failed", "Error"):
            self._clear()
            super().node(name, phase, detail)
        self._draw()

    def task(self, name: str, phase: str, detail: str) -> None:
        if phase in ("Failed", "Error"):
            self._clear()
            Reporter.task(self, name, phase, detail)
            self._draw()

    def _clear(self) -> None:
        self.stream.write("\r\033[K")

    def _draw(self) -> None:
        done = sum(phase in _DONE for phase in self.phases.values())
        running = sum(phase == "Running" for phase in self.phases.values())
        total = len(self.phases)
        filled = _BAR_WIDTH * done // total if total else 0
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        self._clear()
        self.stream.write(f"{self._elapsed()} [{bar}] {done}/{total} done, {running} running")
        self.stream.flush()

    def finish(self, name: str, phase: str, message: str) -> None:
        self._clear()
        super().finish(name, phase, message)


def reporter_for(stream: TextIO) -> Reporter:
    return BarReporter(stream) if stream.isatty() else Reporter(stream)
