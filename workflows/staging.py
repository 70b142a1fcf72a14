"""Where an input given with --input goes in a volume, and the `-p NAME=VALUE` syntax.

Shared by `run-local` and `submit`/`ephemeral`. Every submission stages its input in a new
directory of its own, `inputs/<UTC time>-<random>/<name>`, so a run still reading an earlier
input never sees it replaced ("input changed since split"); earlier stages are never deleted or
overwritten.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

# The WorkflowTemplate parameter that names the input, relative to the volume.
INPUT_PARAMETER = "input"
# The volume directory that holds staged inputs, one sub-directory per submission.
INPUTS_DIR = "inputs"
# Random characters in a stage name: enough that two stagings in one second never meet.
_STAGE_TOKEN_BYTES = 6


class ParameterError(ValueError):
    """A `-p` expression that is not NAME=VALUE; the message names it."""


class StagingError(OSError):
    """Copying an input into a volume failed; the message names source, target and cause."""


def new_stage() -> str:
    """A new, unique stage directory relative to the volume: inputs/20261121T061825Z-<random>."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{INPUTS_DIR}/{stamp}-{secrets.token_hex(_STAGE_TOKEN_BYTES)}"


def copy_into_volume(source: Path, volume: Path) -> str:
    """The input file or directory's path relative to a local volume directory.

    An input already inside the volume is used where it is; any other is copied into a new
    stage. A copy, not a hard link: a link would carry later in-place rewrites of the source
    (a log being appended to) into a stage that a run is still reading.
    """
    source = source.resolve()
    root = volume.resolve()
    if source.is_relative_to(root):
        return source.relative_to(root).as_posix()
    stage = root / new_stage()
    stage.mkdir(parents=True)  # new: an earlier stage is never reused
    target = stage / source.name
    try:
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    except OSError as err:
        # Only this submission's own stage, which no run has been given yet.
        shutil.rmtree(stage, ignore_errors=True)
        raise StagingError(f"copying {source} to {target} failed: {err}") from None
    return target.relative_to(root).as_posix()


def parse_parameters(expressions: Sequence[str]) -> dict[str, str]:
    """`-p NAME=VALUE` expressions as a mapping (a repeated name: the last one wins)."""
    parameters = {}
    for expression in expressions:
        name, equals, value = expression.partition("=")
        if not equals or not name:
            raise ParameterError(f"-p {expression!r}: expected NAME=VALUE, e.g. -p numParts=8")
        parameters[name] = value
    return parameters
