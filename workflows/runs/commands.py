"""The run commands behind `python -m workflows submit|result|ephemeral` (see __init__.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from workflows.runs import retry
from workflows.runs.ephemeral import run_ephemeral
from workflows.runs.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_USAGE,
    RunError,
)
from workflows.runs.stack import StackOutputs, read_outputs
from workflows.runs.submit import (
    Runtime,
    SubmitOptions,
    check_locally,
    fetch_workflow,
    format_result,
    parse_parameters,
    run_submission,
    succeeded_result,
    wait_for,
)

Command = Callable[[argparse.Namespace, Runtime], int]


def submit_command(args: argparse.Namespace, runtime: Runtime) -> int:
    _check_timeout(args, "submit returns as soon as the run is created")
    options = _options(args, wait=args.wait)  # checked before the stack is read
    outputs = _outputs(args.stack, runtime)
    submission = run_submission(outputs, options, runtime, report)
    if submission.workflow is None:
        print(submission.name)
        report(
            f"follow it with `python -m workflows result -s {args.stack} {submission.name}` "
            f"or `argo watch -n {outputs.namespace} {submission.name}`"
        )
    else:
        show_result(submission.name, submission.result)
    return EXIT_OK


def result_command(args: argparse.Namespace, runtime: Runtime) -> int:
    outputs = _outputs(args.stack, runtime)
    workflow = fetch_workflow(runtime.connect(outputs), outputs, args.name, report)
    if args.template is not None:
        job, template = outputs.resolve_template(args.template)
        ran = (workflow.get("spec") or {}).get("workflowTemplateRef", {}).get("name")
        if ran != template:
            raise RunError(
                f"--template {args.template}: workflow {args.name} is a run of "
                f"{ran or 'no WorkflowTemplate'}, not of job {job}'s template {template}"
            )
    show_result(args.name, succeeded_result(workflow))
    return EXIT_OK


def retry_command(args: argparse.Namespace, runtime: Runtime) -> int:
    _check_timeout(args, "retry returns as soon as the run is retried")
    outputs = _outputs(args.stack, runtime)
    api = runtime.connect(outputs)
    plan = retry.retry(api, outputs.namespace, args.name)
    report(
        f"retried workflow {args.name}: {len(plan.pod_nodes)} failed pods deleted, "
        f"{len(plan.deleted_nodes)} nodes to run again, {len(plan.reset_nodes)} reset to Running"
    )
    if not args.wait:
        print(args.name)
        report(f"follow it with `python -m workflows result -s {args.stack} {args.name}`")
        return EXIT_OK
    workflow = wait_for(api, outputs, args.name, args.timeout, runtime, report)
    show_result(args.name, succeeded_result(workflow))
    return EXIT_OK


def _check_timeout(args: argparse.Namespace, without_wait: str) -> None:
    if args.timeout is not None and not args.wait:
        raise RunError(
            f"--timeout {args.timeout:g} applies only with --wait (without it {without_wait}): "
            "add --wait, or drop --timeout",
            EXIT_USAGE,
        )


def ephemeral_command(args: argparse.Namespace, runtime: Runtime) -> int:
    outcome = run_ephemeral(args.stack, _options(args, wait=True), args.keep, runtime, report)
    if outcome.submission is not None and outcome.submission.workflow is not None:
        show_result(outcome.submission.name, outcome.submission.result)
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


def show_result(name: str, result: str | None) -> None:
    """A succeeded run's result JSON on stdout; a template without a `result` output (the seed
    examples) has none, which stderr says."""
    if result is None:
        report(f"workflow {name} succeeded; its template declares no `result` output")
    else:
        print(format_result(result))


def report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def entry(command: Command, runtime: Runtime | None) -> Callable[[argparse.Namespace], int]:
    """Run a command (on the real Pulumi/Kubernetes access unless `runtime` is given); expected
    failures become one `error:` line and their exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args, Runtime() if runtime is None else runtime)
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
    """The run's options, checked locally (check_locally) before anything is spent."""
    options = SubmitOptions(
        parameters=parse_parameters(args.parameters),
        input_path=args.input,
        wait=wait,
        timeout=args.timeout,
        template=args.template,
    )
    check_locally(options)
    return options
