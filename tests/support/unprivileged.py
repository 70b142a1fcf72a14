"""Python as a non-root user, for tests of permission errors: root ignores file modes."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

NOBODY = "65534"
SYSTEM_PYTHON = "/usr/bin/python3"


def python_command() -> list[str]:
    """This interpreter when not root. As root, the system Python (outside root's home, which
    nobody cannot enter) under setpriv as `nobody`, like a container's non-root uid; the test is
    skipped when either is missing."""
    if os.geteuid() != 0:
        return [sys.executable]
    setpriv = shutil.which("setpriv")
    if setpriv is None or not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"running as root without setpriv and {SYSTEM_PYTHON} to drop to nobody")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", SYSTEM_PYTHON]


def python_executable(directory: Path) -> str:
    """python_command() as one executable (a wrapper script in ``directory`` when needed)."""
    command = python_command()
    if len(command) == 1:
        return command[0]
    wrapper = directory / "python-unprivileged"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.join(command)} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def hand_over(root: Path) -> None:
    """Give ``root``'s tree to the user python_command() runs as (as root: nobody), so only its
    file modes, not its owner, keep that user out."""
    if os.geteuid() != 0:
        return
    for directory, _, files in os.walk(root):
        for path in (directory, *(os.path.join(directory, name) for name in files)):
            os.chown(path, int(NOBODY), int(NOBODY))
