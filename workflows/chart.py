"""Render a Helm chart offline with Helm's own Go SDK (helm-python-sdk), as `helm template` does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import helm_python
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_COUNT_CHART = REPO_ROOT / "charts" / "log-count"


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


def render_chart(
    chart_dir: str | Path, values: Mapping[str, Any], *, release: str, namespace: str
) -> list[dict[str, Any]]:
    """Render every template of the chart and return the Kubernetes objects, in template order.

    Raises helm_python.HelmError subclasses for bad values (schema), failed templates and `fail`.
    """
    chart = helm_python.Chart.load(str(chart_dir))
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
