"""Execute a WorkflowTemplate's entrypoint on this machine with Argo's semantics.

The entrypoint is a DAG of container tasks (or a single container template). Each task runs as
a local process (see pods.py); the scheduler follows Argo's rules for `depends`, fan-out
(withItems / withParam / withSequence), parameters, outputs, retries, parallelism and deadlines,
and decides the workflow's phase as Argo's assessDAGPhase does.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import queue
import random
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from workflows import staging
from workflows.runlocal import depends, expression, pods, spec, variables
from workflows.runlocal.backoff import (
    BACKOFF_EXCEEDS_MAX_DURATION,
    MAX_DURATION_EXCEEDED,
    Backoff,
    BackoffError,
)
from workflows.runlocal.backoff import parse as parse_backoff
from workflows.runlocal.progress import Reporter

# How much of a failed attempt's stderr is kept for the report.
STDERR_TAIL_LINES = 20
# Argo keeps at most this much of a step's stdout as outputs.result (its last bytes).
MAX_RESULT_BYTES = 256 * 1024
# Argo's emissary exits with this when it cannot run the command (not found, not executable).
EMISSARY_EXIT_CODE = 64
# Kubernetes' generateName suffix alphabet (no vowels, no look-alike characters).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# The threads that wait for the tasks' processes (one per process running at once).
REAPER_THREAD = "run-local-reaper"
# The exit status a container runtime reports for a process killed by signal N is 128 + N.
_SIGNAL_EXIT_BASE = 128


class Phase(str, Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    SKIPPED = "Skipped"
    OMITTED = "Omitted"

    @property
    def done(self) -> bool:
        return self not in (Phase.PENDING, Phase.RUNNING)

    @property
    def failed(self) -> bool:
        return self in (Phase.FAILED, Phase.ERROR)


class RunError(ValueError):
    """The run cannot start: bad parameters or volumes. The message names what and why."""


def check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise RunError(f"--jobs must be at least 1, not {jobs}")


def workflow_name(prefix: str) -> str:
    """A unique name the way Kubernetes completes generateName: prefix-<5 random chars>."""
    suffix = "".join(random.SystemRandom().choice(_NAME_ALPHABET) for _ in range(5))
    return f"{prefix}-{suffix}"


@dataclass
class PodNode:
    """One expanded task (one pod on a cluster), possibly attempted several times."""

    name: str  # Argo's node name inside the DAG, e.g. map(0:3)
    task: TaskState
    index: int  # its place among the task's nodes (a fan-out's item index)
    template: dict[str, Any]  # the container template with inputs substituted
    retry_limit: int
    retry_policy: str
    retry_expression: expression.Expression | None
    backoff: Backoff | None
    deadline_seconds: int | None
    attempt: int = 0
    phase: Phase = Phase.PENDING
    exit_code: int | None = None
    message: str = ""
    result: str | None = None
    stdout_size: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    output_paths: dict[str, Path] = field(default_factory=dict)
    stdout_path: Path | None = None
    stderr_path: Path | None = None
    stderr_tail: list[str] = field(default_factory=list)  # of the last failed attempt
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    first_started_at: float | None = None  # when the first attempt started (maxDuration's origin)
    not_before: float = 0.0  # a retry waits in the queue until its backoff has passed
    retry_deadline: float | None = None  # a retry is killed here: first start + maxDuration
    killed_for: str = ""

    def deadlines(self) -> list[tuple[float, str]]:
        """When the running attempt must be killed, and which limit says so."""
        found = []
        if self.deadline_seconds is not None:
            found.append(
                (
                    self.started_at + self.deadline_seconds,
                    f"activeDeadlineSeconds {self.deadline_seconds}s",
                )
            )
        if self.retry_deadline is not None:
            found.append(
                (self.retry_deadline, "retryStrategy.backoff.maxDuration from the first attempt")
            )
        return found


@dataclass
class TaskState:
    """A DAG task: a single node, or a group of expanded nodes (fan-out)."""

    spec: dict[str, Any]
    dependencies: set[str]
    expression: depends.Expression | None
    phase: Phase = Phase.PENDING
    message: str = ""
    nodes: list[PodNode] = field(default_factory=list)
    group: bool = False
    finished: int = 0  # nodes done for good (no retry to come)
    last_failed: int = -1  # index of the last node (in item order) that failed for good

    @property
    def name(self) -> str:
        return self.spec["name"]

    def results(self) -> dict[str, bool]:
        """The flags a `depends` expression tests, as Argo computes them for this task."""
        children = [node.phase for node in self.nodes] if self.group else []
        return {
            "Succeeded": self.phase == Phase.SUCCEEDED,
            "Failed": self.phase == Phase.FAILED,
            "Errored": self.phase == Phase.ERROR,
            "Skipped": self.phase == Phase.SKIPPED,
            "Omitted": self.phase == Phase.OMITTED,
            "Daemoned": False,  # daemon containers are refused by the spec check
            "AnySucceeded": any(phase == Phase.SUCCEEDED for phase in children),
            "AllFailed": bool(children) and all(phase == Phase.FAILED for phase in children),
        }

    def outbound_phases(self) -> list[Phase]:
        """The phases Argo's assessDAGPhase carries from this task to its dependants, in order."""
        if self.group and self.nodes:
            return [node.phase for node in self.nodes]
        return [self.phase]


@dataclass
class RunResult:
    name: str
    phase: Phase
    message: str
    outputs: dict[str, str]  # the entrypoint's output parameters
    output_files: dict[str, Path]  # output parameter → local file it was read from
    # The workflow's outputs (Argo's status.outputs): parameters exported with globalName.
    global_outputs: dict[str, str]
    failed: list[PodNode]
    tasks: dict[str, TaskState]


class WorkflowRun:
    """One run of a WorkflowTemplate's entrypoint. Construct, then call run() once."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        name: str,
        parameters: Mapping[str, str],
        volumes: pods.Volumes,
        state_dir: Path,
        jobs: int,
        reporter: Reporter,
        python: str,
    ) -> None:
        spec.check_workflow_template(template)
        self.spec = template["spec"]
        self.name = name
        self.volumes = volumes
        self.state_dir = state_dir
        self.reporter = reporter
        self.python = python
        check_jobs(jobs)
        self.templates = {entry["name"]: entry for entry in self.spec["templates"]}
        self.workflow_volumes = self.spec.get("volumes") or []
        try:
            volumes.check(self.workflow_volumes, "spec.volumes")
            for index, entry in enumerate(self.spec["templates"]):
                volumes.check(entry.get("volumes") or [], f"spec.templates[{index}].volumes")
        except pods.VolumeError as error:
            raise RunError(str(error)) from None
        self.parameters = self._workflow_parameters(parameters)
        self.scope = {"workflow.name": name} | {
            f"workflow.parameters.{key}": value for key, value in self.parameters.items()
        }
        self.entry = self.templates[self.spec["entrypoint"]]
        # Every attempt counts against --jobs and the workflow's parallelism (Argo's active
        # pods); the entrypoint's parallelism holds back first attempts only: Argo's
        # checkParallelism skips the DAG's limit for a node that exists and is running, so a
        # retry starts as soon as its backoff has passed, ahead of items waiting for a slot.
        limits = [jobs]
        if "parallelism" in self.spec:
            limits.append(_positive_int(self.spec["parallelism"], "spec parallelism"))
        self.slots = min(limits)
        self.dag_parallelism = (
            _positive_int(self.entry["parallelism"], "entrypoint template parallelism")
            if "parallelism" in self.entry
            else None
        )
        self.deadline_seconds = (
            _positive_int(self.spec["activeDeadlineSeconds"], "spec.activeDeadlineSeconds")
            if "activeDeadlineSeconds" in self.spec
            else None
        )
        self.tasks: dict[str, TaskState] = {}
        self.waiting = _WaitQueue()  # nodes waiting for a slot
        self.marked: dict[str, dict[str, Any]] = {}  # templates with their mount paths marked
        self.running: dict[int, PodNode] = {}
        self.exits: queue.Queue[tuple[PodNode, int]] = queue.Queue()
        # Processes handed to the waiter threads, which put each exit status into `exits`.
        self.to_reap: queue.SimpleQueue[tuple[PodNode, subprocess.Popen[bytes]] | None] = (
            queue.SimpleQueue()
        )
        self.waiters = 0
        self.stopping = False  # no retries or new attempts once the run is being stopped
        self.past_deadline = False  # the workflow's deadline has passed: no new pods
        self.global_outputs: dict[str, str] = {}
        self.dag_scope: dict[str, str] = {}  # the entrypoint's variables, set when it runs

    def _workflow_parameters(self, overrides: Mapping[str, str]) -> dict[str, str]:
        declared = (self.spec.get("arguments") or {}).get("parameters") or []
        try:
            staging.check_parameters(overrides, declared)
        except staging.ParameterError as error:
            raise RunError(str(error)) from None
        values = {}
        for parameter in declared:
            name = parameter["name"]
            value = _parameter_value(parameter, overrides)
            if value is None:
                raise RunError(f"workflow parameter {name!r} has no value: pass -p {name}=VALUE")
            values[name] = value
        return values

    def set_parameter(self, name: str, value: str) -> None:
        """Set a declared workflow parameter after validation, e.g. to an input just placed."""
        if name not in self.parameters:
            raise RunError(f"the template has no parameter {name!r}")
        self.parameters[name] = value
        self.scope[f"workflow.parameters.{name}"] = value

    # ---- running -------------------------------------------------------------------------

    def run(self) -> RunResult:
        started = time.monotonic()
        deadline = started + self.deadline_seconds if self.deadline_seconds else None
        # The entrypoint's inputs are the workflow's arguments, as Argo passes them.
        entry_inputs = {}
        for parameter in (self.entry.get("inputs") or {}).get("parameters") or []:
            value = _parameter_value(parameter, self.parameters)
            if value is None:
                raise RunError(
                    f"entrypoint {self.entry['name']!r} needs input parameter "
                    f"{parameter['name']!r}: pass -p {parameter['name']}=VALUE"
                )
            entry_inputs[parameter["name"]] = value
        self.dag_scope = self.scope | {
            f"inputs.parameters.{name}": value for name, value in entry_inputs.items()
        }
        if "dag" in self.entry:
            dag_tasks = self.entry["dag"]["tasks"]
        else:  # a container entrypoint is a one-task DAG named after the template
            arguments = [{"name": name, "value": value} for name, value in entry_inputs.items()]
            dag_tasks = [
                {
                    "name": self.entry["name"],
                    "template": self.entry["name"],
                    "arguments": {"parameters": arguments},
                }
            ]
        self.reporter.start(self.name)
        for task in dag_tasks:
            expression = depends.parse(str(task["depends"])) if "depends" in task else None
            self.tasks[task["name"]] = TaskState(
                task, spec.dependencies_of(task), expression, group=spec.fans_out(task)
            )
        # The pods the run will have: one per task that does not fan out, until a fan-out
        # expands (then its width) or a task ends without pods (omitted, skipped, errored).
        self.planned_pods = sum(not task.group for task in self.tasks.values())
        self.unexpanded_groups = sum(task.group for task in self.tasks.values())
        self.reporter.total(self.planned_pods, complete=not self.unexpanded_groups)
        workflow_message = ""
        try:
            while True:
                self._resolve_ready_tasks()
                self._start_queued()
                if not self.running and not self.waiting:
                    break
                timeout = self._next_timeout(deadline)
                try:
                    node, status = self.exits.get(timeout=timeout)
                except queue.Empty:
                    pass
                else:
                    self._finish_attempt(node, status)
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    workflow_message = (
                        f"Max duration limit exceeded: spec.activeDeadlineSeconds "
                        f"{self.deadline_seconds}s"
                    )
                    self._stop_all("Step exceeded its deadline")
                    # As Argo, the DAG is still evaluated: what would start now fails at once.
                    self.past_deadline = True
                    self._resolve_ready_tasks()
                    break
                self._kill_overdue(now)
        except BaseException:
            self._stop_all("run-local was interrupted")
            raise
        finally:
            for _ in range(self.waiters):  # every process has been reaped: the waiters end
                self.to_reap.put(None)
        return self._result(workflow_message)

    def _next_timeout(self, deadline: float | None) -> float | None:
        moments = [deadline] if deadline is not None else []
        moments += [
            moment
            for node in self.running.values()
            if not node.killed_for
            for moment, _ in node.deadlines()
        ]
        wakeup = self.waiting.next_wakeup()
        if wakeup is not None:
            moments.append(wakeup)
        if not moments:
            return None
        return max(0.0, min(moments) - time.monotonic())

    def _resolve_ready_tasks(self) -> None:
        """Decide every task whose dependencies are done, until nothing changes (cascades)."""
        changed = True
        while changed:
            changed = False
            for task in self.tasks.values():
                if task.phase != Phase.PENDING or task.nodes:
                    continue
                if not all(self.tasks[dep].phase.done for dep in task.dependencies):
                    continue
                changed = True
                results = {dep: self.tasks[dep].results() for dep in task.dependencies}
                if task.expression is not None and not task.expression.evaluate(results):
                    self._set_task(task, Phase.OMITTED, "depends condition not met")
                else:
                    try:
                        self._expand(task)
                    except (variables.VariableError, RunError) as error:
                        self._set_task(task, Phase.ERROR, str(error))
                self._count_pods(task)

    def _count_pods(self, task: TaskState) -> None:
        """A task was decided: its pods replace its share of the planned total."""
        if task.group:
            self.unexpanded_groups -= 1
            self.planned_pods += len(task.nodes)
        else:
            self.planned_pods += len(task.nodes) - 1
        self.reporter.total(self.planned_pods, complete=not self.unexpanded_groups)

    def _expand(self, task: TaskState) -> None:
        """Create the task's pod nodes (one, or one per item); an empty fan-out is Skipped."""
        scope = self.dag_scope | self._outputs_scope(self._ancestors(task))
        where = f"dag task {task.name}"
        task_spec = variables.substitute(
            task.spec, scope, where=where, deferred=lambda name: name.split(".")[0] == "item"
        )
        if not task.group:
            nodes = [self._new_node(task, 0, task.name, task_spec, scope)]
        else:
            items = self._items(task, task_spec, where)
            if not items:
                self._set_task(task, Phase.SKIPPED, "fan-out over an empty list")
                return
            nodes = []
            for index, item in enumerate(items):
                item_scope = {"item": _format_item(item)}
                if isinstance(item, Mapping):
                    item_scope |= {
                        f"item.{key}": _format_item(value) for key, value in item.items()
                    }
                node_name = f"{task.name}({index}:{_describe_item(item)})"
                nodes.append(self._new_node(task, index, node_name, task_spec, item_scope))
            self._set_task(task, Phase.RUNNING, f"fan-out over {len(items)} items")
        task.nodes = nodes
        if self.past_deadline:
            # Argo creates no pod past the workflow's deadline and fails the pending node.
            for node in nodes:
                node.message = "Step exceeded its deadline"
                self._end_attempt(node, Phase.FAILED)
            return
        for node in nodes:
            self.waiting.add(node)

    def _ancestors(self, task: TaskState) -> set[str]:
        found: set[str] = set()
        pending = list(task.dependencies)
        while pending:
            name = pending.pop()
            if name not in found:
                found.add(name)
                pending += self.tasks[name].dependencies
        return found

    def _items(self, task: TaskState, task_spec: Mapping[str, Any], where: str) -> list[Any]:
        if "withItems" in task_spec:
            return list(task_spec["withItems"])
        if "withSequence" in task_spec:
            return _sequence(task_spec["withSequence"], f"{where}.withSequence")
        text = task_spec["withParam"]
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = False
        if items is None:  # `null`: Argo's json.Unmarshal into a slice leaves it empty
            items = []
        if not isinstance(items, list):
            cut = [
                f"{node.name} wrote {node.stdout_size} bytes to stdout"
                for name in self._ancestors(task)
                for node in self.tasks[name].nodes
                if node.stdout_size > MAX_RESULT_BYTES
            ]
            limit = (
                f" ({'; '.join(cut)}: Argo keeps only the last 256 KiB of a step's stdout as "
                "outputs.result, so a longer list is cut)"
                if cut
                else ""
            )
            raise RunError(
                f"{where}.withParam value could not be parsed as a JSON list{limit}: "
                f"{text.strip()[:200]!r}"
            )
        return items

    def _new_node(
        self,
        task: TaskState,
        index: int,
        node_name: str,
        task_spec: Mapping[str, Any],
        scope: Mapping[str, str],
    ) -> PodNode:
        arguments = variables.substitute(
            (task_spec.get("arguments") or {}).get("parameters") or [],
            scope,
            where=f"dag task {node_name} arguments",
        )
        template = self.templates[task_spec["template"]]
        given = {argument["name"]: str(argument.get("value", "")) for argument in arguments}
        inputs = {}
        for parameter in (template.get("inputs") or {}).get("parameters") or []:
            value = _parameter_value(parameter, given)
            if value is None:
                raise RunError(
                    f"dag task {node_name}: template {template['name']!r} needs input "
                    f"parameter {parameter['name']!r}, which is neither passed nor defaulted"
                )
            inputs[parameter["name"]] = value
        # Mount paths are marked in the template's own text before any value goes in, so a
        # value that looks like a path (a keyword "/data") is passed on as it is.
        if template["name"] not in self.marked:  # once per template, not once per item
            self.marked[template["name"]] = pods.mark_paths(template)
        resolved = variables.substitute_params(
            self.marked[template["name"]],
            self.scope,
            inputs,
            where=f"template {template['name']} (task {node_name})",
        )
        retry = resolved.get("retryStrategy") or {}
        where = f"template {template['name']}"
        try:
            backoff = (
                parse_backoff(retry["backoff"], f"{where} retryStrategy.backoff")
                if "backoff" in retry
                else None
            )
        except BackoffError as error:
            raise RunError(str(error)) from None
        node = PodNode(
            name=node_name,
            task=task,
            index=index,
            template=resolved,
            retry_limit=_count(retry["limit"], f"{where} retryStrategy.limit") if retry else 0,
            retry_policy=retry.get("retryPolicy", "OnFailure"),
            retry_expression=spec.check_retry_expression(
                str(retry["expression"]), f"{where} retryStrategy.expression"
            )
            if "expression" in retry
            else None,
            backoff=backoff,
            deadline_seconds=_positive_int(
                resolved["activeDeadlineSeconds"], f"{where} activeDeadlineSeconds"
            )
            if "activeDeadlineSeconds" in resolved
            else None,
        )
        return node

    def _start_queued(self) -> None:
        """Start queued nodes whose backoff has passed while slots are free: retries first, then
        first attempts, oldest first, as long as the DAG's parallelism allows one."""
        waiting = self.waiting
        waiting.release(time.monotonic())
        # Only the nodes ready now: a retry an attempt below queues waits for the next pass.
        for _ in range(len(waiting.ready)):
            if len(self.running) >= self.slots:
                return
            self._start_attempt(waiting.pop_retry())
        limit = (
            self.slots if self.dag_parallelism is None else min(self.slots, self.dag_parallelism)
        )
        for _ in range(len(waiting.first)):
            if len(self.running) >= limit:
                return
            self._start_attempt(waiting.first.popleft())

    def _start_attempt(self, node: PodNode) -> None:
        pod_dir = self.state_dir / "pods" / f"{_safe(node.name)}-{node.attempt}"
        node.killed_for = ""
        node.exit_code = None
        node.message = ""
        node.stderr_path = None
        if node.first_started_at is None:
            node.first_started_at = time.monotonic()
        node.started_at = time.monotonic()
        try:
            launch = pods.prepare(
                node.template, self.workflow_volumes, self.volumes, pod_dir, self.python
            )
        except pods.CommandNotFoundError as error:
            self._cannot_run(node, error)
            return
        except (OSError, ValueError) as error:
            node.message = f"could not start the container: {error}"
            self._end_attempt(node, Phase.ERROR)
            return
        node.output_paths = launch.output_paths
        node.stdout_path = launch.stdout
        node.stderr_path = launch.stderr
        try:
            node.process = pods.start(launch)
        except OSError as error:  # not executable, not a program
            self._cannot_run(node, error)
            return
        node.phase = Phase.RUNNING
        self.running[node.process.pid] = node
        if node.task.phase == Phase.PENDING:
            node.task.phase = Phase.RUNNING
        self.reporter.node(node.name, "Running", self._attempt_note(node))
        # A waiter thread per running process, started once and reused: more are only started
        # while every one may still be busy (exits not yet taken count as busy).
        if self.waiters <= len(self.running) - 1:
            threading.Thread(target=self._reap, name=REAPER_THREAD, daemon=True).start()
            self.waiters += 1
        self.to_reap.put((node, node.process))

    def _cannot_run(self, node: PodNode, error: OSError) -> None:
        """The command cannot run: as Argo's emissary, which then exits 64, the step Failed."""
        node.exit_code = EMISSARY_EXIT_CODE
        node.result, node.outputs = None, {}
        node.message = f"{_exit_message(EMISSARY_EXIT_CODE)}: could not run the command: {error}"
        self._end_attempt(node, Phase.FAILED)

    def _reap(self) -> None:
        """A waiter: waits for the processes handed to it, one at a time, until told to end."""
        while (item := self.to_reap.get()) is not None:
            node, process = item
            self.exits.put((node, process.wait()))

    def _finish_attempt(self, node: PodNode, status: int) -> None:
        assert node.process is not None
        del self.running[node.process.pid]
        node.exit_code = _SIGNAL_EXIT_BASE - status if status < 0 else status
        node.result, node.outputs = None, {}
        if node.killed_for:  # the whole pod is killed: nothing is captured
            node.message = node.killed_for
            self._end_attempt(node, Phase.FAILED)
        elif status != 0:
            # Argo's wait container captures the result and the parameters whatever the main
            # container's exit; a missing file then only ends the capture (SaveParameters).
            node.message = _exit_message(node.exit_code)
            with contextlib.suppress(OSError):
                node.stdout_size, node.result = _read_result(node.stdout_path)
            with contextlib.suppress(RunError):
                self._read_outputs(node)
            self._end_attempt(node, Phase.FAILED)
        else:
            try:
                node.stdout_size, node.result = _read_result(node.stdout_path)
                self._read_outputs(node)
            except (OSError, RunError) as error:
                node.message = str(error)
                self._end_attempt(node, Phase.ERROR)
                return
            self._end_attempt(node, Phase.SUCCEEDED)

    def _read_outputs(self, node: PodNode) -> None:
        """Argo's SaveParameters: each file (else its default) in order, one trailing newline
        trimmed, into node.outputs; stops at the first missing one without a default."""
        for parameter in (node.template.get("outputs") or {}).get("parameters") or []:
            name = parameter["name"]
            path = node.output_paths[name]
            try:
                value = path.read_text()
            except OSError as error:
                if "default" not in parameter["valueFrom"]:
                    raise RunError(
                        f"output parameter {name!r}: cannot read "
                        f"{pods.unmarked(parameter['valueFrom']['path'])}"
                        f" ({path}): {error.strerror}"
                    ) from None
                value = str(parameter["valueFrom"]["default"])
            node.outputs[name] = value.removesuffix("\n")

    def _end_attempt(self, node: PodNode, phase: Phase) -> None:
        if phase.failed and node.stderr_path is not None and node.stderr_path.is_file():
            # Kept past the scratch directory, which goes at the end of the run.
            text = node.stderr_path.read_text(errors="replace")
            node.stderr_tail = text.splitlines()[-STDERR_TAIL_LINES:]
        self._export_globals(node)  # Argo exports from every finished pod, failed ones too
        if phase.failed and self._retries(node, phase):
            wait = self._backoff_wait(node)
            if wait is not None:
                node.attempt += 1
                node.phase = Phase.PENDING
                node.not_before = time.monotonic() + wait
                note = f"{node.message}; retrying ({self._attempt_note(node)})"
                if wait > 0:
                    note += f" after a {wait:g}s backoff"
                self.reporter.node(node.name, phase.value, note, retrying=True)
                self.waiting.add(node)
                return
        node.phase = phase
        self.reporter.node(node.name, phase.value, node.message)
        task = node.task
        task.finished += 1
        if phase.failed:
            task.last_failed = max(task.last_failed, node.index)
        if task.finished == len(task.nodes):
            # The task's phase is its last failed item's (in item order), else Succeeded.
            final = task.nodes[task.last_failed].phase if task.last_failed >= 0 else Phase.SUCCEEDED
            self._set_task(task, final, "", report=task.group)

    def _backoff_wait(self, node: PodNode) -> float | None:
        """Seconds before the node's next attempt, or None when maxDuration forbids one.

        Argo (processNodeRetries) decides this before the retry policy and limit; run-local
        asks it only once they allow a retry, so a failure they refuse ends at once rather
        than after the backoff Argo waits first: the phase and message are the same.
        """
        backoff = node.backoff
        if backoff is None:
            return 0.0
        now = time.monotonic()
        limit = None
        if backoff.max_duration is not None:
            assert node.first_started_at is not None
            limit = node.first_started_at + backoff.max_duration
            if now > limit:
                node.message = (
                    f"{node.message}; {MAX_DURATION_EXCEEDED} ({backoff.max_duration:g}s)"
                )
                return None
        wait = backoff.wait(node.attempt + 1)
        if limit is not None and now + wait > limit:
            node.message = (
                f"{node.message}; {BACKOFF_EXCEEDS_MAX_DURATION} (a {wait:g}s backoff, "
                f"maxDuration {backoff.max_duration:g}s)"
            )
            return None
        node.retry_deadline = limit
        return wait

    def _export_globals(self, node: PodNode) -> None:
        """Output parameters with a globalName become workflow outputs (the last one wins),
        whether the attempt succeeded or not (Argo's addOutputsToGlobalScope)."""
        for parameter in (node.template.get("outputs") or {}).get("parameters") or []:
            if "globalName" in parameter and parameter["name"] in node.outputs:
                self.global_outputs[str(parameter["globalName"])] = node.outputs[parameter["name"]]

    def _retries(self, node: PodNode, phase: Phase) -> bool:
        """Argo's processNodeRetries order: the policy, the limit, then the expression."""
        if self.stopping or not self._policy_retries(node.retry_policy, phase):
            return False
        if node.attempt >= node.retry_limit:
            return False
        if node.retry_expression is not None:
            scope = {
                "retries": str(node.attempt),
                "lastRetry.exitCode": "-1" if node.exit_code is None else str(node.exit_code),
                "lastRetry.status": phase.value,
                "lastRetry.duration": _go_float(time.monotonic() - node.started_at),
                "lastRetry.message": node.message,
            }
            try:
                retry = node.retry_expression.evaluate(scope)
            except expression.ExpressionError as error:
                node.message = f"{node.message}; retryStrategy.expression failed: {error}"
                return False
            if not retry:
                node.message = f"{node.message}; retryStrategy.expression evaluated to false"
                return False
        return True

    @staticmethod
    def _policy_retries(policy: str, phase: Phase) -> bool:
        if policy == "Always":
            return True
        if policy == "OnFailure":
            return phase == Phase.FAILED
        if policy == "OnError":
            return phase == Phase.ERROR
        return False  # OnTransientError: nothing local is a transient infrastructure error

    def _attempt_note(self, node: PodNode) -> str:
        """`attempt 2 of 4` from the first retry on; nothing for a first attempt."""
        if node.attempt == 0:
            return ""
        return f"attempt {node.attempt + 1} of {node.retry_limit + 1}"

    def _set_task(self, task: TaskState, phase: Phase, message: str, report: bool = True) -> None:
        task.phase = phase
        task.message = message
        if report:
            self.reporter.task(task.name, phase.value, message)

    def _kill_overdue(self, now: float) -> None:
        for node in self.running.values():
            passed = [what for moment, what in node.deadlines() if now >= moment]
            if passed and not node.killed_for:
                node.killed_for = (
                    f"Pod was active on the node longer than the specified deadline ({passed[0]})"
                )
                _kill_group(node.process)

    def _stop_all(self, reason: str) -> None:
        """Kill every running process group and wait for them; queued nodes never start."""
        self.stopping = True
        for node in list(self.running.values()):
            node.killed_for = reason
            _kill_group(node.process)
        while self.running:
            node, status = self.exits.get()
            self._finish_attempt(node, status)
        self.waiting.clear()

    def _result(self, workflow_message: str) -> RunResult:
        failed = [node for task in self.tasks.values() for node in task.nodes if node.phase.failed]
        phase = Phase.FAILED if workflow_message else self._assess()
        message = workflow_message
        outputs: dict[str, str] = {}
        output_files: dict[str, Path] = {}
        if phase == Phase.SUCCEEDED:
            if "dag" in self.entry:
                # executeDAG, once the DAG has succeeded, exports every task's outputs again in
                # the DAG's task order (a fan-out group has none of its own): that order decides
                # which globalName value stays, not the order the tasks finished in.
                for task in self.tasks.values():
                    if task.nodes and not task.group:
                        self._export_globals(task.nodes[-1])
            try:
                outputs, output_files = self._entry_outputs()
            except variables.VariableError as error:
                phase, message = Phase.ERROR, str(error)
        elif not message:
            errored = [task for task in self.tasks.values() if task.phase.failed and task.message]
            message = "; ".join(f"{task.name}: {task.message}" for task in errored)
        self.reporter.finish(self.name, phase.value, message)
        return RunResult(
            self.name,
            phase,
            message,
            outputs,
            output_files,
            dict(self.global_outputs),
            failed,
            self.tasks,
        )

    def _assess(self) -> Phase:
        """Argo's assessDAGPhase: the first target task whose branch failed decides the phase.

        Targets are the tasks nothing depends on, sorted by name as Argo's findLeafTaskNames
        sorts them (failFast: the first Failed or Error one wins). A completed target has its
        own phase (a fan-out group: its last failed item's). An omitted task inherits the
        phases reaching it from its parents (a group passes each item's phase), the first
        failed or errored one preferred, in the order Argo's breadth-first walk meets them:
        parents in task order, items in order.
        """
        order = list(self.tasks)
        reaching: dict[str, list[Phase]] = {}
        for name in self._topological_order():
            task = self.tasks[name]
            if task.phase == Phase.OMITTED:
                parents = sorted(task.dependencies, key=order.index)
                reaching[name] = [phase for parent in parents for phase in reaching[parent]]
            else:
                reaching[name] = task.outbound_phases()
        depended_on = set().union(*(task.dependencies for task in self.tasks.values()))
        for name in sorted(order):  # findLeafTaskNames sorts the targets by name
            if name in depended_on:
                continue
            task = self.tasks[name]
            branch = reaching[name] if task.phase == Phase.OMITTED else [task.phase]
            failed = next((phase for phase in branch if phase.failed), None)
            if failed is not None:
                return failed
        return Phase.SUCCEEDED

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        while len(order) < len(self.tasks):
            for name, task in self.tasks.items():
                if name not in order and task.dependencies <= set(order):
                    order.append(name)
        return order

    def _entry_outputs(self) -> tuple[dict[str, str], dict[str, Path]]:
        declared = (self.entry.get("outputs") or {}).get("parameters") or []
        if "container" in self.entry:
            node = self.tasks[self.entry["name"]].nodes[-1]
            return dict(node.outputs), dict(node.output_paths)
        # Argo's getTemplateOutputsFromScope: the template's inputs and the globals are already
        # filled in; what is left, its `{{` and `}}` cut off, must name one of the DAG's task
        # outputs (ResolveVar), else the default, else the DAG is in Error.
        scope = self._outputs_scope(self.tasks)
        outputs, files = {}, {}
        for parameter in declared:
            value_from = parameter["valueFrom"]
            where = f"entrypoint output {parameter['name']}"
            reference = variables.substitute(
                str(value_from["parameter"]),
                self.dag_scope,
                where=where,
                deferred=lambda name: name.startswith("tasks."),
            )
            key = reference.removeprefix("{{").removesuffix("}}").strip()
            if key in scope:
                outputs[parameter["name"]] = scope[key]
            elif "default" in value_from:
                outputs[parameter["name"]] = str(value_from["default"])
                continue
            else:
                raise variables.VariableError(
                    f'{where}: Unable to resolve: "{key}" (Argo looks valueFrom.parameter up '
                    "as one variable, e.g. {{tasks.NAME.outputs.parameters.P}})"
                )
            match = _TASK_PARAMETER.fullmatch(reference.strip())
            if match:  # a plain reference: remember the file the value came from
                files[parameter["name"]] = self.tasks[match[1]].nodes[-1].output_paths[match[2]]
        return outputs, files

    def _outputs_scope(self, names: Iterable[str]) -> dict[str, str]:
        """{{tasks.X.outputs.*}} of the named tasks that ran without fanning out: failed ones
        too, as far as their last attempt's outputs were captured (Argo's buildLocalScope)."""
        scope = {}
        for name in names:
            task = self.tasks[name]
            if task.phase.done and task.nodes and not task.group:
                node = task.nodes[-1]
                if node.result is not None:
                    scope[f"tasks.{name}.outputs.result"] = node.result
                for key, value in node.outputs.items():
                    scope[f"tasks.{name}.outputs.parameters.{key}"] = value
        return scope


class _WaitQueue:
    """The nodes waiting for a slot, indexed so that an event costs O(log n), never a scan.

    First attempts wait in the order their tasks expanded them. A retry waits in a heap by the
    time its backoff ends, then, once released, among the ready retries in the order retries
    were queued; ready retries start ahead of first attempts.
    """

    def __init__(self) -> None:
        self.first: deque[PodNode] = deque()
        self.backoff: list[tuple[float, int, PodNode]] = []  # heap by not_before
        self.ready: list[tuple[int, PodNode]] = []  # heap by queueing order
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self.first) + len(self.backoff) + len(self.ready)

    def add(self, node: PodNode) -> None:
        if node.attempt == 0:
            self.first.append(node)
        else:
            heapq.heappush(self.backoff, (node.not_before, next(self._order), node))

    def release(self, now: float) -> None:
        """Move the retries whose backoff has passed to the ready ones."""
        while self.backoff and self.backoff[0][0] <= now:
            _, order, node = heapq.heappop(self.backoff)
            heapq.heappush(self.ready, (order, node))

    def pop_retry(self) -> PodNode:
        return heapq.heappop(self.ready)[1]

    def next_wakeup(self) -> float | None:
        """When the next retry's backoff ends, if one is waiting for it."""
        return self.backoff[0][0] if self.backoff else None

    def clear(self) -> None:
        self.first.clear()
        self.backoff.clear()
        self.ready.clear()


_TASK_PARAMETER = re.compile(r"\{\{\s*tasks\.([\w-]+)\.outputs\.parameters\.([\w-]+)\s*\}\}")


def _parameter_value(parameter: Mapping[str, Any], given: Mapping[str, str]) -> str | None:
    """A parameter's value: the one given, else its `value`, else its `default`, else None."""
    name = parameter["name"]
    if name in given:
        return given[name]
    for key in ("value", "default"):
        if key in parameter:
            return str(parameter[key])
    return None


def _exit_message(code: int) -> str:
    """A failed main container's node message as Argo's inferFailedReason words it (the runtime's
    reason is "Error"), which a retry expression reads as lastRetry.message. Kubernetes'
    FallbackToLogsOnError would append the last log lines; run-local reports them apart."""
    return f"main: Error (exit code {code})"


def _go_float(seconds: float) -> str:
    """A float as Go's fmt.Sprint prints it (Argo's lastRetry.duration): 3.5, 12, 0.25."""
    text = repr(round(seconds, 9))
    return text[:-2] if text.endswith(".0") else text


def _read_result(stdout: Path | None) -> tuple[int, str]:
    """The stdout's size and outputs.result as Argo's CaptureScriptResult makes it: one
    trailing newline trimmed, then the last 256 KiB kept."""
    assert stdout is not None
    with stdout.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - MAX_RESULT_BYTES - 1))
        data = handle.read()
    data = data.removesuffix(b"\n")[-MAX_RESULT_BYTES:]
    return size, data.decode("utf-8", errors="replace")


def _kill_group(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):  # already exited: its exit is queued
        os.killpg(process.pid, signal.SIGKILL)


def _positive_int(value: Any, what: str) -> int:
    number = _count(value, what)
    if number < 1:
        raise RunError(f"{what} must be at least 1, not {value!r}")
    return number


def _count(value: Any, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise RunError(f"{what} must be a whole number, not {value!r}") from None
    if number < 0:
        raise RunError(f"{what} must not be negative, not {value!r}")
    return number


def _sequence(sequence: Mapping[str, Any], where: str) -> list[str]:
    """Argo's withSequence: count or end (inclusive), from start (0), printf-style format."""
    if ("count" in sequence) == ("end" in sequence):
        raise RunError(f"{where} must set exactly one of count and end")
    start = _signed(sequence.get("start", 0), f"{where}.start")
    if "count" in sequence:
        numbers = [start + offset for offset in range(_count(sequence["count"], f"{where}.count"))]
    else:
        end = _signed(sequence["end"], f"{where}.end")
        step = 1 if end >= start else -1
        numbers = list(range(start, end + step, step))
    format_ = str(sequence.get("format", "%d"))
    try:
        return [format_ % number for number in numbers]
    except (TypeError, ValueError):
        raise RunError(
            f"{where}.format {format_!r} is not a printf format for one integer"
        ) from None


def _signed(value: Any, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise RunError(f"{what} must be a whole number, not {value!r}") from None


def _format_item(item: Any) -> str:
    """{{item}} as Argo renders it: strings as they are, everything else as compact JSON."""
    if isinstance(item, str):
        return item
    return json.dumps(item, separators=(",", ":"), sort_keys=True)


def _describe_item(item: Any) -> str:
    """The item part of an expanded node name, as Argo builds it: map(0:3), x(1:a:1,b:2)."""
    if isinstance(item, Mapping):
        return ",".join(f"{key}:{_format_item(item[key])}" for key in sorted(item))
    return _format_item(item)


def _safe(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in name)
