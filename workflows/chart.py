"""Render a Helm chart offline with Helm's own Go SDK (helm-python-sdk), as `helm template` does."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import helm_python
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CHARTS_DIR = REPO_ROOT / "charts"
# The library chart every job chart (and the platform chart) depends on, through a symlink
# charts/<chart>/charts/fanout-lib, and the chart rendered once per workload namespace.
LIBRARY_CHART = CHARTS_DIR / "fanout-lib"
PLATFORM_CHART = CHARTS_DIR / "platform"
LOG_COUNT_CHART = CHARTS_DIR / "log-count"
# The platform chart's ConfigMap key holding the `platform` values block of the job charts.
PLATFORM_VALUES_KEY = "values.yaml"
# Helm's loader logs this (Go's default logger, straight to fd 2) for every symlink it follows;
# files/log-count is one on purpose, so the line would only be noise on every run.
SYMLINK_NOTICE = re.compile(rb"^\S+ \S+ INFO found symbolic link in path\.")


def job_chart_dirs() -> list[Path]:
    """Every job chart under charts/: all chart directories but the library and the platform."""
    return sorted(
        path.parent
        for path in CHARTS_DIR.glob("*/Chart.yaml")
        if path.parent not in (LIBRARY_CHART, PLATFORM_CHART)
    )


def platform_block(objects: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The `platform` values block a rendered platform release publishes for its job charts."""
    for obj in objects:
        if obj["kind"] == "ConfigMap" and PLATFORM_VALUES_KEY in obj.get("data", {}):
            return yaml.safe_load(obj["data"][PLATFORM_VALUES_KEY])
    raise ValueError("the platform release rendered no ConfigMap with its values block")


def platform_values_block(
    platform_values: Mapping[str, Any], *, release: str, namespace: str
) -> dict[str, Any]:
    """The `platform` values block (`{"platform": {...}}`) the platform chart publishes when
    installed with `platform_values` as release `release` into `namespace`."""
    objects = render_chart(PLATFORM_CHART, platform_values, release=release, namespace=namespace)
    return platform_block(objects)


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two values maps the way Helm layers -f files and --set: maps merge, rest wins."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def user_values(
    values_files: Iterable[str | Path] = (), set_expressions: Iterable[str] = ()
) -> dict[str, Any]:
    """Values from -f files then --set expressions, later ones winning, as the helm CLI does."""
    values: dict[str, Any] = {}
    for path in values_files:
        values = merge_values(values, helm_python.values_from_yaml(Path(path).read_text()))
    for expression in set_expressions:
        values = merge_values(values, helm_python.parse_set_string(expression))
    return values


def load_chart(chart_dir: str | Path) -> helm_python.Chart:
    """helm_python.Chart.load, minus Helm's symlink notices; its other stderr output passes on."""
    sys.stderr.flush()  # what Python already wrote stays before Helm's output
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            return helm_python.Chart.load(str(chart_dir))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            os.write(2, without_symlink_notices(captured.read()))


def without_symlink_notices(stderr: bytes) -> bytes:
    lines = stderr.splitlines(keepends=True)
    return b"".join(line for line in lines if not SYMLINK_NOTICE.match(line))


def render_chart(
    chart_dir: str | Path, values: Mapping[str, Any], *, release: str, namespace: str
) -> list[dict[str, Any]]:
    """Render every template of the chart and return the Kubernetes objects, in template order.

    Raises helm_python.HelmError subclasses for bad values (schema), failed templates and `fail`.
    """
    chart = load_chart(chart_dir)
    try:
        manifests = chart.render(dict(values), name=release, namespace=namespace, is_install=True)
    finally:
        chart.close()
    objects = []
    for template in sorted(manifests):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt and helpers render to text, not objects
        objects += [doc for doc in yaml.safe_load_all(manifests[template]) if doc]
    return objects
