"""`python -m workflows run-local`: run a chart's WorkflowTemplate on this machine, no cluster."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import helm_python

from workflows.chart import LOG_COUNT_CHART, user_values
from workflows.runlocal import resume
from workflows.runlocal.engine import Phase, RunError, RunResult
from workflows.runlocal.local import Origin, render_job, run_local
from workflows.runlocal.progress import reporter_for
from workflows.runlocal.spec import UnsupportedError
from workflows.runlocal.variables import VariableError
from workflows.staging import ParameterError, parse_parameters

EXIT_FAILED = 1
EXIT_USAGE = 2
# A shell reports a process ended by signal N as 128 + N: 130 for Ctrl-C, 143 for SIGTERM.
EXIT_SIGNAL_BASE = 128


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so the engine stops its tasks."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run-local",
        help="run the chart's WorkflowTemplate on this machine (no cluster)",
        description=(
            "Render the chart with Helm, then execute its WorkflowTemplate's entrypoint DAG on "
            "this machine: each task's command runs as a local process with Argo's semantics; "
            "volumes map to local directories."
        ),
    )
    parser.add_argument(
        "--input",
        type=Path,
        help="input file or directory; placed in the volume and passed as the input parameter",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="run an earlier run again, under its name, with its chart, values and parameters, "
        "in its volume directory: DIR is that volume directory (its latest run), the run's "
        "directory in it (VOLUME/runs/NAME) or its record (VOLUME/.run-local/NAME.json); steps "
        "keep what is done (log-count counts only the missing or failed shards again)",
    )
    parser.add_argument("--chart", type=Path, default=LOG_COUNT_CHART, help="chart directory")
    parser.add_argument(
        "-f", "--values", action="append", default=[], metavar="FILE", help="values file"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="K=V", help="value, as helm --set"
    )
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="workflow parameter, as argo submit -p",
    )
    parser.add_argument(
        "--volume-dir",
        type=Path,
        help="directory standing in for the PVC (default: a new temporary directory, removed "
        "at the end unless --keep)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directories (the volume, unless --volume-dir, and every "
        "task's logs) and print where they are",
    )
    cpus = os.cpu_count()
    parser.add_argument(
        "--jobs",
        type=int,
        default=cpus if cpus is not None else 1,
        help="most tasks running at once (default: the CPU count)",
    )
    parser.set_defaults(func=main)


# What a resumed run takes from its record, so none of it may be given again.
_RECORDED = {
    "input": "--input",
    "chart": "--chart",
    "values": "-f/--values",
    "set": "--set",
    "parameter": "-p/--parameter",
    "volume_dir": "--volume-dir",
}


def main(args: argparse.Namespace) -> int:
    try:
        if args.resume is not None:
            given = [flag for key, flag in _RECORDED.items() if _given(args, key)]
            if given:
                raise RunError(
                    f"--resume runs the earlier run with its own chart, values, parameters and "
                    f"volume directory: drop {', '.join(given)}"
                )
            volume_dir, record = resume.find(args.resume)
            origin = Origin(record.chart, record.values)
            parameters, name, input_path = record.parameters, record.name, None
        else:
            origin = Origin(args.chart, user_values(args.values, args.set))
            parameters, name = parse_parameters(args.parameter), None
            volume_dir, input_path = args.volume_dir, args.input
        job = render_job(origin.chart, origin.values)
        with _sigterm_as_interrupt():
            run = run_local(
                job,
                parameters=parameters,
                input_path=input_path,
                volume_dir=volume_dir,
                jobs=args.jobs,
                reporter=reporter_for(sys.stderr),
                python=sys.executable,
                keep=args.keep,
                origin=origin,
                name=name,
            )
    except (
        RunError,
        ParameterError,
        UnsupportedError,
        VariableError,
        helm_python.HelmError,
        OSError,
    ) as error:
        print(f"run-local: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as stop:  # the engine has already killed every running task
        print("\nrun-local: interrupted; running tasks were stopped", file=sys.stderr)
        number = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        return EXIT_SIGNAL_BASE + number
    result = run.result
    if run.volume_dir is not None and volume_dir is None:
        print(f"volume directory (kept): {run.volume_dir}", file=sys.stderr)
    if result.phase != Phase.SUCCEEDED:
        _report_failure(result, run.state_dir)
        if run.volume_dir is not None:
            record = resume.record_path(run.volume_dir, result.name)
            print(
                f"to run it again, keeping what is done: python -m workflows run-local "
                f"--resume {record}",
                file=sys.stderr,
            )
        return EXIT_FAILED
    if run.state_dir is not None:
        print(f"logs of every task (kept): {run.state_dir / 'pods'}", file=sys.stderr)
    for name, value in result.outputs.items():
        if name in result.output_files and run.volume_dir is not None:
            print(f"{name}: {result.output_files[name]}", file=sys.stderr)
        print(value)
    return 0


def _given(args: argparse.Namespace, key: str) -> bool:
    """Whether an option was given on the command line (not left at its default)."""
    value = getattr(args, key)
    if key == "chart":
        return value != LOG_COUNT_CHART
    return value not in (None, [])


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While running, SIGTERM stops the run as Ctrl-C does, so no task outlives run-local."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _report_failure(result: RunResult, state_dir: Path | None) -> None:
    lines = [f"workflow {result.name} {result.phase.value}: {result.message}".rstrip(": ")]
    for node in result.failed:
        code = "" if node.exit_code is None else f", exit code {node.exit_code}"
        lines.append(f"failed task {node.name}: {node.phase.value}{code}: {node.message}")
        if node.stderr_tail:
            lines += ["  stderr tail:"] + [f"    {line}" for line in node.stderr_tail]
    if state_dir is None:
        lines.append("every task's logs were removed; run again with --keep to keep them")
    else:
        lines.append(f"logs of every task (kept): {state_dir / 'pods'}")
    print("\n".join(lines), file=sys.stderr)
