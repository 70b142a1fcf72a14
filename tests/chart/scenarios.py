"""The chart's test scenarios: its defaults plus one per charts/log-count/ci/*-values.yaml file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflows.chart import LOG_COUNT_CHART, render_chart, user_values

CI_DIR = LOG_COUNT_CHART / "ci"
RELEASE = "log-count"
NAMESPACE = "batch"
DEFAULTS = "defaults"


def ci_files() -> dict[str, Path]:
    """The ci scenario files by scenario name (the file name without `-values.yaml`)."""
    return {path.name.removesuffix("-values.yaml"): path for path in sorted(CI_DIR.glob("*.yaml"))}


def scenario_names() -> list[str]:
    return [DEFAULTS, *ci_files()]


def scenario_values(name: str) -> dict[str, Any]:
    """The user values of a scenario, as `helm install -f ci/<name>-values.yaml` would pass."""
    if name == DEFAULTS:
        return {}
    return user_values([ci_files()[name]])


def render(
    values: dict[str, Any], *, release: str = RELEASE, namespace: str = NAMESPACE
) -> list[dict[str, Any]]:
    """Render the log-count chart with `values` on top of its defaults."""
    return render_chart(LOG_COUNT_CHART, values, release=release, namespace=namespace)


def render_scenario(name: str) -> list[dict[str, Any]]:
    return render(scenario_values(name))


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single object of `kind`; fails naming the kinds present otherwise."""
    found = [obj for obj in objects if obj["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)} among {kinds(objects)}"
    return found[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return [obj["kind"] for obj in objects]
