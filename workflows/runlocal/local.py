"""Render a chart, place the input in the volume directory, and run its WorkflowTemplate."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workflows import staging
from workflows.chart import merge_values, platform_values_block, render_chart
from workflows.runlocal import pods, spec
from workflows.runlocal.engine import (
    RunError,
    RunResult,
    WorkflowRun,
    check_jobs,
    workflow_name,
)
from workflows.runlocal.progress import Reporter
from workflows.runlocal.resume import RunRecord
from workflows.staging import INPUT_PARAMETER, StagingError, copy_into_volume

# The job's release is "<chart name>-local" (so log-count's template is log-count-local), the
# platform's whose block it is rendered over this one.
RELEASE_SUFFIX = "-local"
PLATFORM_RELEASE = "argo-fanout-local"
NAMESPACE = "argo-fanout"


@dataclass(frozen=True)
class RenderedJob:
    template: dict[str, Any]  # the WorkflowTemplate
    config_maps: dict[str, dict[str, Any]]  # every rendered ConfigMap by name


def render_job(chart_dir: Path, values: Mapping[str, Any]) -> RenderedJob:
    """Render the job chart as Helm would install it over the `platform` block of a platform
    release with the platform chart's defaults (`values` may override any of it), and pick the
    one WorkflowTemplate."""
    release = chart_name(chart_dir) + RELEASE_SUFFIX
    platform = platform_values_block({}, release=PLATFORM_RELEASE, namespace=NAMESPACE)
    objects = render_chart(
        chart_dir, merge_values(platform, values), release=release, namespace=NAMESPACE
    )
    templates = [obj for obj in objects if obj.get("kind") == "WorkflowTemplate"]
    if len(templates) != 1:
        names = [template["metadata"]["name"] for template in templates]
        raise RunError(
            f"chart {chart_dir} renders {len(templates)} WorkflowTemplates "
            f"({', '.join(names) or 'none'}); run-local runs a chart with exactly one"
        )
    config_maps = {
        obj["metadata"]["name"]: obj for obj in objects if obj.get("kind") == "ConfigMap"
    }
    return RenderedJob(templates[0], config_maps)


def chart_name(chart_dir: Path) -> str:
    """The chart's name from its Chart.yaml (RunError when there is none)."""
    meta_path = Path(chart_dir) / "Chart.yaml"
    try:
        meta = yaml.safe_load(meta_path.read_text())
    except OSError as error:
        raise RunError(f"--chart {chart_dir}: not a chart directory ({error.strerror})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise RunError(f"{meta_path}: no chart name")
    return meta["name"]


def claim_names(template: Mapping[str, Any]) -> set[str]:
    """Every PVC claim the template mounts (all of them map to the one volume directory)."""
    spec = template["spec"]
    volumes = list(spec.get("volumes") or [])
    for entry in spec.get("templates") or []:
        volumes += entry.get("volumes") or []
    return {
        volume["persistentVolumeClaim"]["claimName"]
        for volume in volumes
        if "persistentVolumeClaim" in volume
    }


def place_input(source: Path, volume_dir: Path) -> str:
    """Put the input file or directory into the volume; return its path relative to the volume.

    Used in place when already inside the volume, else copied into a new stage directory
    (workflows/staging.py), so earlier runs' inputs are never replaced.
    """
    if not source.exists():
        raise RunError(f"--input {source}: no such file or directory")
    try:
        return copy_into_volume(source, volume_dir)
    except StagingError as err:
        raise RunError(f"--input: {err}") from None


def check_run(
    job: RenderedJob, parameters: Mapping[str, str], input_path: Path | None, jobs: int
) -> None:
    """Everything that can refuse a run, checked before anything is created: the template's
    fields, the parameters (names, enums, `{{`, the job's own parsers), --input and --jobs."""
    spec.check_workflow_template(job.template)
    try:
        staging.check_input(input_path, parameters)
        declared = (job.template["spec"].get("arguments") or {}).get("parameters") or []
        staging.check_parameters(parameters, declared)
    except staging.ParameterError as error:
        raise RunError(str(error)) from None
    check_jobs(jobs)


@dataclass(frozen=True)
class Origin:
    """Where a rendered job came from: recorded with a kept volume so the run can be resumed."""

    chart: Path
    values: Mapping[str, Any]


@dataclass(frozen=True)
class LocalRun:
    result: RunResult
    state_dir: Path | None  # every task's logs; None once removed (kept only with keep)
    volume_dir: Path | None  # None once a temporary volume directory was removed


def run_local(
    job: RenderedJob,
    *,
    parameters: Mapping[str, str],
    input_path: Path | None,
    volume_dir: Path | None,
    jobs: int,
    reporter: Reporter,
    python: str,
    keep: bool = False,
    origin: Origin | None = None,
    name: str | None = None,
) -> LocalRun:
    """Check the run, then run the job.

    The scratch directory (configmaps, every task's logs) and, without `volume_dir`, a temporary
    volume directory are created only once the run is accepted, and removed when it ends unless
    `keep`. A given `volume_dir` is the user's and stays. With `origin`, a volume directory that
    stays records the run before it starts (resume.py), so `--resume` can run it again; `name`
    (a resumed run's) replaces a new generated workflow name.
    """
    check_run(job, parameters, input_path, jobs)
    if name is None:
        name = workflow_name(job.template["metadata"]["name"])
    temporary_volume = volume_dir is None
    if volume_dir is None:
        volume_dir = Path(tempfile.mkdtemp(prefix="run-local-volume-"))
    volume_dir.mkdir(parents=True, exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix=f"run-local-{name}-"))
    try:
        volumes = pods.Volumes(
            claims=dict.fromkeys(claim_names(job.template), volume_dir.resolve()),
            config_maps=pods.write_config_maps(job.config_maps, state_dir / "configmaps"),
        )
        run = WorkflowRun(
            job.template,
            name=name,
            parameters=parameters,
            volumes=volumes,
            state_dir=state_dir,
            jobs=jobs,
            reporter=reporter,
            python=python,
        )
        if input_path is not None:
            run.set_parameter(INPUT_PARAMETER, place_input(input_path, volume_dir))
        if origin is not None and (keep or not temporary_volume):
            RunRecord(name, origin.chart, dict(origin.values), dict(run.parameters)).save(
                volume_dir
            )
        result = run.run()
    except BaseException:
        pods.remove_tree(state_dir)
        if temporary_volume:
            pods.remove_tree(volume_dir)
        raise
    if keep:
        return LocalRun(result, state_dir, volume_dir)
    pods.remove_tree(state_dir)
    if temporary_volume:
        pods.remove_tree(volume_dir)
        return LocalRun(result, None, None)
    return LocalRun(result, None, volume_dir)
