"""The charts' test scenarios, rendered as deployments: the platform chart plus one job chart.

A scenario is a name: `defaults` (every chart's defaults) or the `<name>` of a
`charts/<chart>/ci/<name>-values.yaml` file. A job chart's scenarios are its own ci files plus
the platform's (so every storage type and compute profile reaches every job's step pods); a
scenario renders the platform chart with its `platform/ci` file (defaults without one) and the
job chart with its own file over the platform's `platform` block, as the Pulumi program and
`helm install ... -f platform.yaml` do. The test platform release is named like the job's
release (`fullnameOverride`), so the shared ServiceAccount and claim keep their names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflows.chart import (
    LOG_COUNT_CHART,
    PLATFORM_CHART,
    job_chart_dirs,
    load_chart,
    merge_values,
    platform_block,
    render_chart,
    user_values,
)

CI_DIR = LOG_COUNT_CHART / "ci"
RELEASE = "log-count"
NAMESPACE = "batch"
DEFAULTS = "defaults"
# The top-level keys of a combined values map that belong to the platform chart.
PLATFORM_KEYS = ("storage", "serviceAccount", "podSecurityContext", "compute")
SHARED_KEYS = ("commonLabels", "fullnameOverride")  # given to both charts


def ci_files(chart: Path = LOG_COUNT_CHART) -> dict[str, Path]:
    """A chart's ci scenario files by scenario name (the file name without `-values.yaml`)."""
    ci = chart / "ci"
    return {path.name.removesuffix("-values.yaml"): path for path in sorted(ci.glob("*.yaml"))}


def scenario_names(chart: Path = LOG_COUNT_CHART) -> list[str]:
    names = set(ci_files(chart))
    if chart != PLATFORM_CHART:
        names |= set(ci_files(PLATFORM_CHART))
    return [DEFAULTS, *sorted(names)]


def job_scenarios() -> list[tuple[str, str]]:
    """(chart directory name, scenario) of every job chart."""
    return [(chart.name, name) for chart in job_chart_dirs() for name in scenario_names(chart)]


def chart_values(chart: Path, name: str) -> dict[str, Any]:
    """One chart's own values of a scenario, as `helm install -f ci/<name>-values.yaml`."""
    path = ci_files(chart).get(name)
    return {} if path is None else user_values([path])


def scenario_values(name: str, chart: Path = LOG_COUNT_CHART) -> dict[str, Any]:
    """The combined values of a scenario: the platform's file, then the job's."""
    return merge_values(chart_values(PLATFORM_CHART, name), chart_values(chart, name))


def split_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(platform chart values, job chart values) of a combined values map."""
    platform = {k: v for k, v in values.items() if k in PLATFORM_KEYS or k in SHARED_KEYS}
    job = {k: v for k, v in values.items() if k not in PLATFORM_KEYS}
    return platform, job


def render_parts(
    values: dict[str, Any],
    *,
    chart: Path = LOG_COUNT_CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(platform objects, job objects) of `values` split between the two charts."""
    platform_values, job = split_values(values)
    platform = render_chart(
        PLATFORM_CHART,
        {**platform_values, "fullnameOverride": platform_values.get("fullnameOverride", release)},
        release=release,
        namespace=namespace,
    )
    objects = render_chart(
        chart, merge_values(platform_block(platform), job), release=release, namespace=namespace
    )
    return platform, objects


def render(
    values: dict[str, Any],
    *,
    chart: Path = LOG_COUNT_CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> list[dict[str, Any]]:
    """The platform's and the job chart's objects for `values` over their defaults."""
    platform, job = render_parts(values, chart=chart, release=release, namespace=namespace)
    return platform + job


def job_values(
    values: dict[str, Any], *, release: str = RELEASE, namespace: str = NAMESPACE
) -> dict[str, Any]:
    """A job chart's values for combined `values`: the platform's block, then the job's own."""
    platform_values, job = split_values(values)
    platform = render_chart(
        PLATFORM_CHART,
        {**platform_values, "fullnameOverride": platform_values.get("fullnameOverride", release)},
        release=release,
        namespace=namespace,
    )
    return merge_values(platform_block(platform), job)


def notes(values: dict[str, Any], *, chart: Path = LOG_COUNT_CHART, release: str = RELEASE) -> str:
    """The chart's rendered NOTES.txt (a job chart's over the platform block of `values`)."""
    if chart != PLATFORM_CHART:
        values = job_values(values, release=release)
    loaded = load_chart(chart)
    try:
        manifests = loaded.render(values, name=release, namespace=NAMESPACE, is_install=True)
    finally:
        loaded.close()
    (text,) = [text for name, text in manifests.items() if name.endswith("NOTES.txt")]
    return text


def render_scenario(name: str, chart: Path = LOG_COUNT_CHART) -> list[dict[str, Any]]:
    return render(scenario_values(name, chart), chart=chart)


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single object of `kind`; fails naming the kinds present otherwise."""
    found = [obj for obj in objects if obj["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)} among {kinds(objects)}"
    return found[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return [obj["kind"] for obj in objects]
