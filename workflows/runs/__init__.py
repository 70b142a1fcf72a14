"""`submit`, `result` and `ephemeral`: log-count runs on a deployed stack.

Results go to stdout (the result JSON, or a submitted workflow's name); progress, Pulumi's
output and the teardown report go to stderr; errors are one line, `error: ...`, with the exit
codes of workflows/runs/errors.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from workflows.runs.ephemeral import run_ephemeral
from workflows.runs.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, RunError
from workflows.runs.stack import StackOutputs, read_outputs
from workflows.runs.submit import (
    Runtime,
    SubmitOptions,
    fetch_workflow,
    format_result,
    parse_parameters,
    run_submission,
    succeeded_result,
)

Command = Callable[[argparse.Namespace, Runtime], int]


def register(subparsers: argparse._SubParsersAction, runtime: Runtime | None = None) -> None:
    """Add the commands; `runtime` replaces the real Pulumi/Kubernetes access (tests)."""
    runtime = Runtime() if runtime is None else runtime
    submit = subparsers.add_parser(
        "submit",
        help="submit a log-count run to a stack",
        description="Submit a Workflow from the stack's WorkflowTemplate; with --wait, follow "
        "it and print its result JSON. Without --wait, print the workflow's name.",
    )
    _add_stack(submit)
    _add_run_options(submit)
    submit.add_argument("--wait", action="store_true", help="wait for the run and print its result")
    submit.set_defaults(func=_entry(submit_command, runtime))

    result = subparsers.add_parser(
        "result",
        help="print the result of a finished run",
        description="Print the result JSON of a finished run; fail with its failed step if it "
        "did not succeed.",
    )
    _add_stack(result)
    result.add_argument("name", metavar="NAME", help="the workflow's name, as submit printed it")
    result.set_defaults(func=_entry(result_command, runtime))

    ephemeral = subparsers.add_parser(
        "ephemeral",
        help="pulumi up, run once, pulumi destroy",
        description="Deploy the stack, run log-count once and wait for it, then destroy the "
        "stack (also after a failure or Ctrl-C) and print the result and a teardown report.",
    )
    _add_stack(ephemeral)
    _add_run_options(ephemeral)
    ephemeral.add_argument(
        "--keep", action="store_true", help="leave the stack up after the run (no destroy)"
    )
    ephemeral.set_defaults(func=_entry(ephemeral_command, runtime))


def submit_command(args: argparse.Namespace, runtime: Runtime) -> int:
    outputs = _outputs(args.stack, runtime)
    submission = run_submission(outputs, _options(args, wait=args.wait), runtime, report)
    if submission.result is None:
        print(submission.name)
        report(
            f"follow it with `python -m workflows result -s {args.stack} {submission.name}` "
            f"or `argo watch -n {outputs.namespace} {submission.name}`"
        )
    else:
        print(format_result(submission.result))
    return EXIT_OK


def result_command(args: argparse.Namespace, runtime: Runtime) -> int:
    outputs = _outputs(args.stack, runtime)
    workflow = fetch_workflow(runtime.connect(outputs), outputs, args.name)
    print(format_result(succeeded_result(workflow)))
    return EXIT_OK


def ephemeral_command(args: argparse.Namespace, runtime: Runtime) -> int:
    outcome = run_ephemeral(args.stack, _options(args, wait=True), args.keep, runtime, report)
    if outcome.submission is not None and outcome.submission.result is not None:
        print(format_result(outcome.submission.result))
    report("teardown report:")
    for line in outcome.teardown:
        report(f"  {line}")
    if isinstance(outcome.error, KeyboardInterrupt):
        report("error: interrupted")
        return EXIT_INTERRUPTED
    if outcome.error is not None:
        report(f"error: {outcome.error}")
        return outcome.error.exit_code
    return EXIT_OK if outcome.torn_down else EXIT_RUN_FAILED


def report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _entry(command: Command, runtime: Runtime) -> Callable[[argparse.Namespace], int]:
    """Run a command; expected failures become one `error:` line and their exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args, runtime)
        except RunError as err:
            report(f"error: {err}")
            return err.exit_code
        except KeyboardInterrupt:
            report("error: interrupted")
            return EXIT_INTERRUPTED

    return run


def _outputs(stack_name: str, runtime: Runtime) -> StackOutputs:
    return read_outputs(runtime.select_stack(stack_name))


def _options(args: argparse.Namespace, *, wait: bool) -> SubmitOptions:
    return SubmitOptions(
        parameters=parse_parameters(args.parameters),
        input_path=args.input,
        wait=wait,
        timeout=args.timeout,
    )


def _add_stack(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-s", "--stack", required=True, help="the Pulumi stack (project in the repository root)"
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a workflow parameter: numParts, partSize, input, keywords, match (repeatable)",
    )
    parser.add_argument(
        "--input",
        type=Path,
        metavar="PATH",
        help="a log file or directory to stage on the stack's volume (kind: copied into "
        "dataDir; ACK One with OSS: uploaded to the bucket); sets -p input",
    )
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
