"""A stack's lifecycle and outputs through the Pulumi Automation API, behind a small interface.

The run commands only need `outputs`, `up`, `destroy` and `remove` of one stack of the project in
the repository root; `Stack` is that interface (tests substitute a fake), `PulumiStack` the real
one, and `StackOutputs` turns the raw outputs into the fields the commands use, with one-line
errors for a stack that is not up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pulumi.automation as auto
import yaml

from common import exports
from common.paths import REPO_ROOT
from workflows.runs.errors import EXIT_RUN_FAILED, EXIT_USAGE, RunError

OutputSink = Callable[[str], None]


class StackNotFound(RunError):
    """The backend has no stack of that name."""


class StackLocked(RunError):
    """Another update holds the stack's lock (e.g. an interrupted `up` still cancelling)."""


class Stack(Protocol):
    name: str

    def outputs(self) -> Mapping[str, Any]:
        """The stack's outputs as plain values (secrets decrypted); empty when it is not up."""

    def up(self, on_output: OutputSink) -> None:
        """Deploy; raises RunError on failure."""

    def destroy(self, on_output: OutputSink) -> Mapping[str, int]:
        """Destroy every resource; returns the operation counts, e.g. {"delete": 12}."""

    def remove(self) -> None:
        """Remove the (empty) stack from the backend, keeping its Pulumi.<stack>.yaml."""


@dataclass(frozen=True)
class StackOutputs:
    """The outputs the run commands use; names in common/exports.py. The commands decide by
    `input_staging` and `owns_cluster`, never by the target's name (kept for messages)."""

    stack: str
    target: str
    input_staging: str  # common.exports.STAGING_*: how `--input` reaches the volume
    owns_cluster: bool  # False: destroy leaves the cluster (and what the stack did not create)
    kubeconfig: dict[str, Any]
    namespace: str
    template: str  # the default job's (log-count's) WorkflowTemplate
    volume_claim: str
    data_dir: str | None
    oss_bucket: str | None
    oss_endpoint: str | None
    oss_path: str | None  # the bucket directory the volume mounts (set with oss_bucket)
    argo_namespace: str | None = None  # set only where the program installed Argo
    # Every job's WorkflowTemplate by job name (stacks deployed before `jobs`: log-count's only).
    templates: Mapping[str, str] = field(default_factory=dict)

    def resolve_template(self, name: str | None) -> tuple[str, str]:
        """(job, WorkflowTemplate) for `--template NAME`: a job name or a template name of
        the `workflowTemplates` output; None: the default job."""
        if name is None:
            return exports.DEFAULT_JOB, self.template
        if name in self.templates:
            return name, self.templates[name]
        for job, template in self.templates.items():
            if template == name:
                return job, template
        known = ", ".join(
            job if job == template else f"{job} (template {template})"
            for job, template in self.templates.items()
        )
        raise RunError(
            f"--template {name}: stack {self.stack!r} deploys no job or WorkflowTemplate of that "
            f"name; its jobs: {known} (config `jobs`, then `pulumi up -s {self.stack}`)"
        )

    @classmethod
    def parse(cls, stack: str, outputs: Mapping[str, Any]) -> StackOutputs:
        if not outputs:
            raise RunError(
                f"stack {stack!r} is not up (it has no outputs): deploy it with "
                f"`pulumi up -s {stack}`, or use `python -m workflows ephemeral -s {stack}`"
            )
        required = (
            exports.TARGET,
            exports.KUBECONFIG,
            exports.WORKLOAD_NAMESPACE,
            exports.WORKFLOW_TEMPLATE,
            exports.VOLUME_CLAIM,
            exports.INPUT_STAGING,
            exports.OWNS_CLUSTER,
        )
        staging = outputs.get(exports.INPUT_STAGING)
        if staging == exports.STAGING_OBJECT_STORE:
            required += (exports.OSS_BUCKET, exports.OSS_ENDPOINT, exports.OSS_PATH)
        elif staging == exports.STAGING_LOCAL_DIR:
            required += (exports.DATA_DIR,)
        missing = [name for name in required if outputs.get(name) in (None, "")]
        if missing:
            raise RunError(
                f"stack {stack!r} lacks the outputs {', '.join(missing)} "
                f"(it has {', '.join(sorted(outputs))}): run `pulumi up -s {stack}` "
                "with this checkout's program"
            )
        if staging not in exports.STAGINGS:
            raise RunError(
                f"stack {stack!r}: output {exports.INPUT_STAGING} is {staging!r}, not one of "
                f"{', '.join(exports.STAGINGS)}: run `pulumi up -s {stack}` with this checkout's "
                "program"
            )
        return cls(
            stack=stack,
            target=str(outputs[exports.TARGET]),
            input_staging=str(staging),
            owns_cluster=outputs[exports.OWNS_CLUSTER] in (True, "true"),
            kubeconfig=_kubeconfig_dict(stack, outputs[exports.KUBECONFIG]),
            namespace=str(outputs[exports.WORKLOAD_NAMESPACE]),
            template=str(outputs[exports.WORKFLOW_TEMPLATE]),
            volume_claim=str(outputs[exports.VOLUME_CLAIM]),
            data_dir=outputs.get(exports.DATA_DIR),
            oss_bucket=outputs.get(exports.OSS_BUCKET),
            oss_endpoint=outputs.get(exports.OSS_ENDPOINT),
            oss_path=outputs.get(exports.OSS_PATH),
            argo_namespace=outputs.get(exports.ARGO_NAMESPACE),
            templates=_templates(stack, outputs),
        )


def _templates(stack: str, outputs: Mapping[str, Any]) -> dict[str, str]:
    value = outputs.get(exports.WORKFLOW_TEMPLATES)
    if value is None:  # deployed before the `jobs` map: log-count was the only job
        return {exports.DEFAULT_JOB: str(outputs[exports.WORKFLOW_TEMPLATE])}
    if not isinstance(value, Mapping) or not all(
        isinstance(job, str) and isinstance(template, str) for job, template in value.items()
    ):
        raise RunError(
            f"stack {stack!r}: output {exports.WORKFLOW_TEMPLATES} is not a map of job names to "
            f"template names: run `pulumi up -s {stack}` with this checkout's program"
        )
    return dict(value)


def read_outputs(stack: Stack) -> StackOutputs:
    return StackOutputs.parse(stack.name, stack.outputs())


def _kubeconfig_dict(stack: str, value: Any) -> dict[str, Any]:
    """The kubeconfig output is YAML text (or already a mapping); return it as a mapping."""
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = yaml.safe_load(str(value))
    except yaml.YAMLError as err:
        raise RunError(f"stack {stack!r}: output {exports.KUBECONFIG} is not YAML: {err}") from None
    if not isinstance(parsed, dict) or not parsed.get("clusters"):
        raise RunError(
            f"stack {stack!r}: output {exports.KUBECONFIG} is not a kubeconfig (no clusters)"
        )
    return parsed


class PulumiStack:
    """`Stack` backed by the Pulumi CLI through the Automation API (project in the repo root)."""

    def __init__(self, stack: auto.Stack) -> None:
        self._stack = stack
        self.name = stack.name

    @classmethod
    def select(cls, name: str, work_dir: Path = REPO_ROOT) -> PulumiStack:
        """The existing stack `name`; RunError when it (or the pulumi CLI) is missing."""
        with _pulumi_errors(name):
            return cls(auto.select_stack(name, work_dir=str(work_dir)))

    @classmethod
    def select_or_create(cls, name: str, work_dir: Path = REPO_ROOT) -> tuple[PulumiStack, bool]:
        """The stack `name`, created when missing; the flag tells whether it was created."""
        try:
            return cls.select(name, work_dir), False
        except StackNotFound:
            with _pulumi_errors(name):
                return cls(auto.create_stack(name, work_dir=str(work_dir))), True

    def outputs(self) -> dict[str, Any]:
        with _pulumi_errors(self.name):
            return {key: output.value for key, output in self._stack.outputs().items()}

    def up(self, on_output: OutputSink) -> None:
        with _pulumi_errors(self.name, exit_code=EXIT_RUN_FAILED):
            self._stack.up(on_output=on_output, color="never")

    def destroy(self, on_output: OutputSink) -> dict[str, int]:
        with _pulumi_errors(self.name, exit_code=EXIT_RUN_FAILED):
            result = self._stack.destroy(on_output=on_output, color="never")
        return dict(result.summary.resource_changes or {})

    def remove(self) -> None:
        with _pulumi_errors(self.name):
            self._stack.workspace.remove_stack(self.name, preserve_config=True)


@contextlib.contextmanager
def _pulumi_errors(stack: str, exit_code: int = EXIT_USAGE) -> Iterator[None]:
    """Turn Automation API failures into one-line RunErrors naming the stack."""
    try:
        yield
    except FileNotFoundError as err:
        if err.filename != "pulumi":
            raise
        raise RunError(
            "the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/);"
            " the run commands read stacks through it"
        ) from None
    except auto.errors.StackNotFoundError:
        raise StackNotFound(
            f"stack {stack!r} not found in the current Pulumi backend: list them with "
            "`pulumi stack ls`, or `pulumi login` to the backend that holds it"
        ) from None
    except auto.errors.ConcurrentUpdateError as err:
        raise StackLocked(
            f"stack {stack!r} is locked by another update: {_error_line(err)}", EXIT_RUN_FAILED
        ) from None
    except auto.errors.CommandError as err:
        raise RunError(f"pulumi failed on stack {stack!r}: {_error_line(err)}", exit_code) from None


def _error_line(err: auto.errors.CommandError) -> str:
    """The most telling line of a CommandError (whose text is the CLI's whole stdout/stderr)."""
    text = str(err)
    stderr = text.split("\n stderr: ", 1)[-1]
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        return errors[-1]
    return lines[-1] if lines else text.strip().splitlines()[-1]
