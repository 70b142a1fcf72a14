"""`submit`, `result`, `retry` and `ephemeral`: runs of a deployed stack's job templates.

Results go to stdout (the result JSON, or a submitted workflow's name); progress, Pulumi's
output and the teardown report go to stderr; errors are one line, `error: ...`, with the exit
codes of workflows/runs/errors.py. The commands live in workflows/runs/commands.py and load only
when one runs: they pull in Pulumi, Kubernetes and OSS clients, which `run-local` does not need.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflows.runs.submit import Runtime


def register(subparsers: argparse._SubParsersAction, runtime: Runtime | None = None) -> None:
    """Add the commands; `runtime` replaces the real Pulumi/Kubernetes access (tests)."""
    submit = subparsers.add_parser(
        "submit",
        help="submit a run of one of a stack's jobs (default: log-count)",
        description="Submit a Workflow from one of the stack's WorkflowTemplates (--template; "
        "default: log-count's); with --wait, follow it and print its result JSON. Without "
        "--wait, print the workflow's name.",
    )
    _add_stack(submit)
    _add_run_options(submit)
    submit.add_argument("--wait", action="store_true", help="wait for the run and print its result")
    submit.set_defaults(func=_deferred("submit_command", runtime))

    result = subparsers.add_parser(
        "result",
        help="print the result of a finished run",
        description="Print the result JSON of a finished run; fail with its failed step if it "
        "did not succeed.",
    )
    _add_stack(result)
    result.add_argument("name", metavar="NAME", help="the workflow's name, as submit printed it")
    _add_template(result, "the job (or WorkflowTemplate) the run must be of: checked")
    result.set_defaults(func=_deferred("result_command", runtime))

    retry = subparsers.add_parser(
        "retry",
        help="run a failed run's failed steps again (Argo's retry)",
        description="Retry a Failed or Error run as `argo retry` does: its failed pods and "
        "what depends on them run again, its succeeded steps are kept (a count whose count file "
        "is intact exits at once). Without --wait, print the workflow's name.",
    )
    _add_stack(retry)
    retry.add_argument("name", metavar="NAME", help="the workflow's name, as submit printed it")
    retry.add_argument("--wait", action="store_true", help="wait for the run and print its result")
    _add_timeout(retry)
    retry.set_defaults(func=_deferred("retry_command", runtime))

    ephemeral = subparsers.add_parser(
        "ephemeral",
        help="pulumi up, run once, pulumi destroy",
        description="Deploy the stack, run one of its jobs once (--template; default: "
        "log-count) and wait for it, then destroy the stack (also after a failure or Ctrl-C) "
        "and print the result and a teardown report.",
    )
    _add_stack(ephemeral)
    _add_run_options(ephemeral)
    ephemeral.add_argument(
        "--keep", action="store_true", help="leave the stack up after the run (no destroy)"
    )
    ephemeral.set_defaults(func=_deferred("ephemeral_command", runtime))


def _deferred(command: str, runtime: Runtime | None) -> Callable[[argparse.Namespace], int]:
    """The named command of workflows/runs/commands.py, imported when it runs."""

    def run(args: argparse.Namespace) -> int:
        from workflows.runs import commands

        return commands.entry(getattr(commands, command), runtime)(args)

    return run


def _add_stack(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-s", "--stack", required=True, help="the Pulumi stack (project in the repository root)"
    )


def _add_template(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--template",
        metavar="NAME",
        help=f"{what}: a job name or a WorkflowTemplate name of the stack's workflowTemplates "
        "output (config `jobs`); default: log-count",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    _add_template(parser, "the job to run")
    parser.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a workflow parameter the template declares (repeatable); log-count's: numParts, "
        "partSize, input, keywords, match, minSuccessRatio",
    )
    parser.add_argument(
        "--input",
        type=Path,
        metavar="PATH",
        help="a log file or directory to stage on the stack's volume (kind: copied into "
        "dataDir; ACK One with OSS: uploaded to the bucket); sets -p input, so only for a "
        "template that declares `input` (log-count)",
    )
    _add_timeout(parser)


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up waiting after this many seconds (the run keeps going); default: no limit",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value
