"""Where an input given with --input goes in a volume, and the `-p NAME=VALUE` parameters.

Shared by `run-local` and `submit`/`ephemeral`, which all check their parameters here before they
spend anything (a temporary directory, a `pulumi up`, a cluster call).

Every submission stages its input in a new directory of its own,
`inputs/<UTC time>-<random>/<name>`, so a run still reading an earlier input never sees it
replaced ("input changed since split"); earlier stages are never deleted or overwritten.
"""

from __future__ import annotations

import difflib
import secrets
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from workflows import job

# The WorkflowTemplate parameter that names the input, relative to the volume.
INPUT_PARAMETER = "input"
# The volume directory that holds staged inputs, one sub-directory per submission.
INPUTS_DIR = "inputs"
# Random characters in a stage name: enough that two stagings in one second never meet.
_STAGE_TOKEN_BYTES = 6


class ParameterError(ValueError):
    """A `-p` parameter (or --input) that cannot be used; the one-line message names it, its
    value and what is allowed."""


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


def job_parameters() -> list[dict[str, Any]]:
    """The workflow parameters of the log-count job, as a template declares them (names only).

    What the run commands check against before they reach the deployed template; a chart test
    keeps these names equal to those of charts/log-count's template.
    """
    return [{"name": name} for name in job.load().PARAMETER_FLAGS]


def check_parameters(
    parameters: Mapping[str, str],
    declared: Sequence[Mapping[str, Any]],
    *,
    job_rules: bool = True,
) -> None:
    """Refuse, in one line, a `-p` that the run would fail on, before anything is spent.

    Each name must be declared (the closest declared name is suggested for a misspelling); a
    value may not contain `{{` (Argo substitutes parameter values again, so it would run as a
    template, not as data); it must be one of the parameter's `enum`, if any, and, with
    `job_rules` (a log-count template), pass the log-count job's own parser for that parameter
    (logcount.check_parameter).
    """
    names = [str(parameter["name"]) for parameter in declared]
    by_name = {str(parameter["name"]): parameter for parameter in declared}
    logcount = job.load()
    for name, value in parameters.items():
        if name not in by_name:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"-p {name}: the template has no parameter {name!r}{hint} "
                f"(parameters: {', '.join(names) or 'none'})"
            )
        if "{{" in value:
            raise ParameterError(
                f"-p {name}={value}: parameter values are data, and '{{{{' is not allowed in "
                "them (Argo would substitute it as a template variable)"
            )
        allowed = by_name[name].get("enum")
        if allowed is not None and value not in allowed:
            raise ParameterError(
                f"-p {name}={value}: not allowed; the template allows {', '.join(allowed)}"
            )
        if not job_rules:
            continue
        try:
            logcount.check_parameter(name, value)
        except logcount.UsageError as error:
            raise ParameterError(f"-p {name}={value}: {error}") from None


def check_input(path: Path | None, parameters: Mapping[str, str]) -> None:
    """--input must exist, and not come with -p input as well."""
    if path is None:
        return
    if INPUT_PARAMETER in parameters:
        raise ParameterError(
            f"--input and -p {INPUT_PARAMETER}=... both set the input; give only one"
        )
    if not path.exists():
        raise ParameterError(f"--input {path}: no such file or directory")
