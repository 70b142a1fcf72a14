"""Render a chart, place the input in the volume directory, and run its WorkflowTemplate."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.chart import render_chart
from workflows.runlocal import pods
from workflows.runlocal.engine import Phase, RunError, RunResult, WorkflowRun, workflow_name
from workflows.runlocal.progress import Reporter
from workflows.staging import INPUT_PARAMETER, StagingError, copy_into_volume

RELEASE = "log-count-local"
NAMESPACE = "argo-fanout"


@dataclass(frozen=True)
class RenderedJob:
    template: dict[str, Any]  # the WorkflowTemplate
    config_maps: dict[str, dict[str, Any]]  # every rendered ConfigMap by name


def render_job(chart_dir: Path, values: Mapping[str, Any]) -> RenderedJob:
    """Render the chart as Helm would install it and pick the one WorkflowTemplate."""
    objects = render_chart(chart_dir, values, release=RELEASE, namespace=NAMESPACE)
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


def run_local(
    job: RenderedJob,
    *,
    parameters: Mapping[str, str],
    input_path: Path | None,
    volume_dir: Path,
    jobs: int,
    reporter: Reporter,
    python: str,
) -> tuple[RunResult, Path]:
    """Run the job; returns the result and the scratch directory (logs), kept on failure."""
    if input_path is not None and INPUT_PARAMETER in parameters:
        raise RunError(f"--input and -p {INPUT_PARAMETER}=... both set the input; pass one")
    name = workflow_name(job.template["metadata"]["name"])
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
        result = run.run()
    except BaseException:
        pods.remove_tree(state_dir)
        raise
    if result.phase == Phase.SUCCEEDED:
        pods.remove_tree(state_dir)
    return result, state_dir
