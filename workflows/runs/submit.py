"""Submitting a run of any of a stack's job templates, waiting for it and reading its result.

`run_submission` is what `submit`, `ephemeral` and the kind end-to-end test all call. Cluster
and stack access come through `Runtime`, so tests run the same code against fakes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import exports
from workflows import staging
from workflows.runs import argo, nodestatus, offload
from workflows.runs.errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, RunError
from workflows.runs.inputs import ObjectStore, stage_input
from workflows.runs.stack import PulumiStack, Stack, StackOutputs

# Seconds between two polls of a running workflow.
POLL_SECONDS = 3.0

Report = Callable[[str], None]


def _connect(outputs: StackOutputs) -> argo.ArgoApi:
    return argo.KubernetesArgoApi(
        outputs.kubeconfig,
        outputs.stack,
        offload.DEFAULT_ARGO_NAMESPACE
        if outputs.argo_namespace is None  # Argo not installed by the program
        else outputs.argo_namespace,
    )


@dataclass(frozen=True)
class Runtime:
    """Everything outside this process the run commands touch; tests replace parts of it."""

    select_stack: Callable[[str], Stack] = PulumiStack.select
    select_or_create_stack: Callable[[str], tuple[Stack, bool]] = PulumiStack.select_or_create
    connect: Callable[[StackOutputs], argo.ArgoApi] = _connect
    object_store: ObjectStore | None = None  # None: the stack's OSS bucket, when it has one
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class SubmitOptions:
    parameters: dict[str, str] = field(default_factory=dict)
    input_path: Path | None = None
    wait: bool = True
    timeout: float | None = None  # seconds; None waits as long as the run takes
    template: str | None = None  # --template: a job or template name; None: the default job


@dataclass(frozen=True)
class Submission:
    name: str
    workflow: dict[str, Any] | None = None  # the finished workflow, when waited for
    result: str | None = None  # the result JSON, when waited for, succeeded, and declared


def parse_parameters(expressions: Sequence[str]) -> dict[str, str]:
    """`-p NAME=VALUE` expressions as a mapping; a malformed one is a usage error."""
    try:
        return staging.parse_parameters(expressions)
    except staging.ParameterError as err:
        raise RunError(str(err)) from None


def check_locally(options: SubmitOptions) -> None:
    """What can be checked here, before any stack, cluster or cloud call: --input exists, and,
    for the default job (log-count), every -p names a log-count parameter and passes the job's
    own parser (no `{{`). Another template's parameters are known once its stack is read."""
    try:
        staging.check_input(options.input_path, options.parameters)
        if options.template in (None, exports.DEFAULT_JOB):
            staging.check_parameters(options.parameters, staging.job_parameters())
    except staging.ParameterError as err:
        raise RunError(str(err)) from None


def run_submission(
    outputs: StackOutputs, options: SubmitOptions, runtime: Runtime, report: Report
) -> Submission:
    """Stage the input, submit the workflow and, with `wait`, follow it to its result."""
    check_locally(options)
    job, template_name = outputs.resolve_template(options.template)
    parameters = dict(options.parameters)
    api = runtime.connect(outputs)
    template = _template(api, outputs, template_name)
    declared = argo.template_parameters(template)
    names = dict(parameters)
    if options.input_path is not None:
        if staging.INPUT_PARAMETER not in {str(p["name"]) for p in declared}:
            raise RunError(
                f"--input: WorkflowTemplate {template_name} (job {job}) declares no "
                f"`{staging.INPUT_PARAMETER}` parameter, so nothing would read the staged file "
                f"(its parameters: {', '.join(str(p['name']) for p in declared) or 'none'}); "
                "--input is for jobs that take one, such as log-count"
            )
        names[staging.INPUT_PARAMETER] = "inputs/staged"  # a stand-in: the name must exist
    try:  # the deployed template's names and enums, which may differ from this checkout's
        staging.check_parameters(
            names, declared, job_rules=job == exports.DEFAULT_JOB or argo.is_log_count(template)
        )
    except staging.ParameterError as err:
        raise RunError(f"WorkflowTemplate {template_name}: {err}") from None
    if options.input_path is not None:
        parameters[staging.INPUT_PARAMETER] = stage_input(
            options.input_path, outputs, runtime.object_store
        )
        report(f"input staged at {parameters[staging.INPUT_PARAMETER]} (relative to the volume)")
    created = api.create_workflow(
        outputs.namespace, argo.workflow_body(template_name, outputs.namespace, parameters)
    )
    name = created["metadata"]["name"]
    report(f"submitted workflow {name} in namespace {outputs.namespace}")
    if not options.wait:
        return Submission(name)
    workflow = wait_for(api, outputs, name, options.timeout, runtime, report)
    return Submission(name, workflow, succeeded_result(workflow))


def _template(api: argo.ArgoApi, outputs: StackOutputs, name: str) -> dict[str, Any]:
    template = api.get_template(outputs.namespace, name)
    if template is None:
        raise RunError(
            f"WorkflowTemplate {name!r} not found in namespace "
            f"{outputs.namespace!r} of stack {outputs.stack!r}: `pulumi up -s {outputs.stack}` "
            "deploys it"
        )
    return template


def wait_for(
    api: argo.ArgoApi,
    outputs: StackOutputs,
    name: str,
    timeout: float | None,
    runtime: Runtime,
    report: Report,
) -> dict[str, Any]:
    """Poll the workflow until it finishes; report progress whenever it changes."""
    try:
        return _poll_until_finished(api, outputs, name, timeout, runtime, report)
    except KeyboardInterrupt:
        raise RunError(
            f"interrupted while waiting for workflow {name} (it was not stopped)",
            EXIT_INTERRUPTED,
        ) from None


def _poll_until_finished(
    api: argo.ArgoApi,
    outputs: StackOutputs,
    name: str,
    timeout: float | None,
    runtime: Runtime,
    report: Report,
) -> dict[str, Any]:
    deadline = None if timeout is None else runtime.monotonic() + timeout
    shown = None
    notes = _once(report)
    while True:
        workflow = fetch_workflow(api, outputs, name, notes)
        progress = argo.progress(workflow)
        if progress != shown:
            report(f"{name} {progress.describe()}")
            shown = progress
        if argo.is_finished(workflow):
            return workflow
        remaining = None if deadline is None else deadline - runtime.monotonic()
        if remaining is not None and remaining <= 0:
            raise RunError(
                f"workflow {name} did not finish within {timeout:g}s ({progress.describe()}); "
                f"it keeps running: read it later with "
                f"`python -m workflows result -s {outputs.stack} {name}`",
                EXIT_RUN_FAILED,
            )
        runtime.sleep(POLL_SECONDS if remaining is None else min(POLL_SECONDS, remaining))


def _once(report: Report) -> Report:
    """`report`, but each message only the first time it is given."""
    shown: set[str] = set()

    def once(message: str) -> None:
        if message not in shown:
            shown.add(message)
            report(message)

    return once


def fetch_workflow(
    api: argo.ArgoApi, outputs: StackOutputs, name: str, report: Report
) -> dict[str, Any]:
    """The Workflow with its node status, wherever Argo keeps it (nodestatus.hydrated). Nodes
    offloaded to a database out of reach are reported and left out: the phase and the result
    are in the Workflow itself, only the progress and the failed step's name need them."""
    workflow = api.get_workflow(outputs.namespace, name)
    if workflow is None:
        raise RunError(
            f"workflow {name} not found in namespace {outputs.namespace!r} of stack "
            f"{outputs.stack!r} (finished runs are deleted after the template's ttlStrategy)"
        )
    try:
        return nodestatus.hydrated(workflow, api.offloads)
    except RunError as err:
        if nodestatus.storage(workflow) != nodestatus.OFFLOADED:
            raise
        report(
            f"{name}: its node status is offloaded and cannot be read ({err}): progress and "
            "failed steps are not shown"
        )
        return workflow


def succeeded_result(workflow: Mapping[str, Any]) -> str | None:
    """The result JSON of a finished workflow; RunError unless its phase is Succeeded. None: it
    succeeded and its template declares no `result` output (hello-world, loops, ...)."""
    name = workflow["metadata"]["name"]
    if not argo.is_finished(workflow):
        raise RunError(
            f"workflow {name} has not finished: {argo.progress(workflow).describe()}",
            EXIT_RUN_FAILED,
        )
    if argo.phase(workflow) != argo.SUCCEEDED:
        raise RunError(argo.failure(workflow), EXIT_RUN_FAILED)
    value = argo.result(workflow)
    if value is None and not argo.declares_result(workflow):
        return None
    if value is None:
        raise RunError(
            f"workflow {name} succeeded but reports no `{argo.RESULT_PARAMETER}` output "
            f"(neither the workflow's outputs nor its {argo.REDUCE_TASK} step has one)",
            EXIT_RUN_FAILED,
        )
    return value


def format_result(value: str) -> str:
    """The result JSON indented for reading, keys in the job's order; other text unchanged."""
    try:
        return json.dumps(json.loads(value), indent=2)
    except ValueError:
        return value
