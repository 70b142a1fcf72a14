"""Where an input given with --input goes in a volume, and the `-p NAME=VALUE` syntax.

Shared by `run-local` and `submit`/`ephemeral`. Every submission stages its input in a new
directory of its own, `inputs/<UTC time>-<random>/<name>`, so a run still reading an earlier
input never sees it replaced ("input changed since split"); earlier stages are never deleted or
overwritten.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

# The WorkflowTemplate parameter that names the input, relative to the volume.
INPUT_PARAMETER = "input"
# The volume directory that holds staged inputs, one sub-directory per submission.
INPUTS_DIR = "inputs"
# Random characters in a stage name: enough that two stagings in one second never meet.
_STAGE_TOKEN_BYTES = 6


class ParameterError(ValueError):
    """A `-p` expression that is not NAME=VALUE; the message names it."""


def new_stage() -> str:
    """A new, unique stage directory relative to the volume: inputs/20261121T061825Z-<random>."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{INPUTS_DIR}/{stamp}-{secrets.token_hex(_STAGE_TOKEN_BYTES)}"


def parse_parameters(expressions: Sequence[str]) -> dict[str, str]:
    """`-p NAME=VALUE` expressions as a mapping (a repeated name: the last one wins)."""
    parameters = {}
    for expression in expressions:
        name, equals, value = expression.partition("=")
        if not equals or not name:
            raise ParameterError(f"-p {expression!r}: expected NAME=VALUE, e.g. -p numParts=8")
        parameters[name] = value
    return parameters
