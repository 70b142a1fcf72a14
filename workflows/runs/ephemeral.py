"""`ephemeral`: pulumi up → stage input → submit and wait → pulumi destroy, whatever happened.

The destroy runs after a failed up, a failed run and Ctrl-C alike (unless --keep), and the
teardown report says what was destroyed and what is left, and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.runs.errors import RunError
from workflows.runs.stack import Stack, StackLocked, StackOutputs, read_outputs
from workflows.runs.submit import Report, Runtime, Submission, SubmitOptions, run_submission

# An interrupted `up` may still hold the stack's lock while it cancels: wait this long for it.
LOCK_WAIT_SECONDS = 120.0
LOCK_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class EphemeralOutcome:
    submission: Submission | None  # None when the run never got submitted
    error: RunError | KeyboardInterrupt | None  # what ended the run early, if anything
    teardown: list[str]  # the teardown report, one line per fact
    torn_down: bool  # everything the stack deployed is gone (or --keep asked to keep it)


def run_ephemeral(
    stack_name: str, options: SubmitOptions, keep: bool, runtime: Runtime, report: Report
) -> EphemeralOutcome:
    stack, created = runtime.select_or_create_stack(stack_name)
    submission = error = outputs = None
    try:
        report(f"pulumi up -s {stack_name}")
        stack.up(report)
        outputs = read_outputs(stack)
        submission = run_submission(outputs, options, runtime, report)
    except (RunError, KeyboardInterrupt) as err:
        error = err
    except BaseException:
        # A bug surfaces with its traceback, but only after the teardown it must not skip.
        for line in _teardown(stack, created, outputs, None, keep, runtime, report)[0]:
            report(line)
        raise
    workflow = None if submission is None else submission.name
    teardown, torn_down = _teardown(stack, created, outputs, workflow, keep, runtime, report)
    return EphemeralOutcome(submission, error, teardown, torn_down)


def _teardown(
    stack: Stack,
    created: bool,
    outputs: StackOutputs | None,
    workflow: str | None,
    keep: bool,
    runtime: Runtime,
    report: Report,
) -> tuple[list[str], bool]:
    if keep:
        return _kept(stack.name), True
    return _destroy(stack, created, outputs, workflow, runtime, report)


def _kept(stack: str) -> list[str]:
    return [f"kept: stack {stack} stays up (--keep); tear it down with `pulumi destroy -s {stack}`"]


def _destroy(
    stack: Stack,
    created: bool,
    outputs: StackOutputs | None,
    workflow: str | None,
    runtime: Runtime,
    report: Report,
) -> tuple[list[str], bool]:
    name = stack.name
    report(f"pulumi destroy -s {name}")
    try:
        changes = _destroy_when_unlocked(stack, runtime, report)
    except KeyboardInterrupt:
        return [
            f"left: the resources of stack {name}: destroy was interrupted; "
            f"finish it with `pulumi destroy -s {name}`"
        ], False
    except RunError as err:
        return [
            f"left: the resources of stack {name}: {err}; retry with `pulumi destroy -s {name}` "
            f"(`pulumi cancel -s {name}` first if it stays locked)"
        ], False
    operations = ", ".join(f"{op} {count}" for op, count in sorted(changes.items()))
    lines = [f"destroyed: every resource of stack {name} ({operations or 'none were deployed'})"]
    if created:
        try:
            stack.remove()
            lines.append(f"removed: stack {name}, created for this run (its config file stays)")
        except RunError as err:
            lines.append(f"left: the empty stack {name} ({err})")
    else:
        lines.append(
            f"left: the empty stack {name} and its config, for the next run "
            f"(`pulumi stack rm {name}` removes it)"
        )
    if outputs is not None:
        lines += _kept_by_destroy(outputs, workflow)
    return lines, True


def _kept_by_destroy(outputs: StackOutputs, workflow: str | None) -> list[str]:
    """What a successful destroy leaves on purpose (README "Teardown")."""
    lines = []
    if outputs.data_dir is not None:
        lines.append(
            f"left: {outputs.data_dir} on this machine (the kind volume's inputs and run "
            "outputs; a host directory Pulumi does not own): delete it when done, with sudo "
            "unless you are uid 1000 (the steps' user wrote the run files)"
        )
    if not outputs.owns_cluster:
        if workflow is not None:
            lines.append(
                f"left: workflow {workflow} in namespace {outputs.namespace} if the namespace "
                "existed before the stack (workload.createNamespace false: destroy keeps it); "
                f"`kubectl -n {outputs.namespace} delete workflow {workflow}` removes it"
            )
        lines.append(
            f"left: the data behind claim {outputs.volume_claim!r} (a Retain volume's files, a "
            "NAS directory or your own claim's content): destroy removes only the objects the "
            "stack created"
        )
        if outputs.argo_namespace is not None:
            lines.append(
                "left: Argo's CRDs (workflows.argoproj.io and the other argoproj.io kinds): the "
                "chart's hook Job applied them outside the release; delete them with kubectl "
                "once nothing in the cluster uses them (README: Teardown)"
            )
        lines.append(
            f"left: the cluster itself (target {outputs.target}: the stack never owned it)"
        )
    return lines


def _destroy_when_unlocked(stack: Stack, runtime: Runtime, report: Report) -> dict[str, int]:
    deadline = runtime.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return dict(stack.destroy(report))
        except StackLocked:
            if runtime.monotonic() >= deadline:
                raise
            report(f"stack {stack.name} is locked by the interrupted update; waiting")
            runtime.sleep(LOCK_POLL_SECONDS)
