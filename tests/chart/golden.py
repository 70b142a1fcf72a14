"""Golden renders of the charts, one per chart and scenario, under tests/chart/golden/<chart>/.

Regenerate them (and the charts' READMEs and the job charts' shared schema properties) with
`make golden`, i.e. `python -m tests.chart.golden`, then review the diff. A job chart's golden
holds its own objects (rendered over the platform block of the same scenario); the platform's
holds the platform release of each platform scenario. The ConfigMap that ships log-count's
scripts shows its data as one placeholder, so adding or editing a script does not change the
goldens; tests/chart/test_job_code.py checks that it carries exactly
charts/log-count/files/log-count/*.py.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.chart import readme
from tests.chart.scenarios import (
    NAMESPACE,
    chart_values,
    render_parts,
    scenario_names,
    scenario_values,
)
from workflows.chart import LIBRARY_CHART, PLATFORM_CHART, job_chart_dirs, render_chart

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SCRIPTS_PLACEHOLDER = {
    "<name>.py": "<each charts/log-count/files/log-count/*.py, checked by test_job_code.py>"
}
PLATFORM_RELEASE = "argo-fanout"
# The properties every job chart's values.schema.json shares, kept in one file.
SHARED_SCHEMA = LIBRARY_CHART / "job-values.schema.json"


def is_code_config_map(obj: dict[str, Any]) -> bool:
    return obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-code")


def golden_text(objects: list[dict[str, Any]]) -> str:
    """The objects as the golden file holds them: YAML documents, the scripts as a placeholder."""
    shown = []
    for obj in objects:
        if is_code_config_map(obj):
            obj = copy.deepcopy(obj)
            obj["data"] = SCRIPTS_PLACEHOLDER
        shown.append(obj)
    return yaml.safe_dump_all(shown, sort_keys=False, width=100)


def golden_charts() -> list[Path]:
    return [PLATFORM_CHART, *job_chart_dirs()]


def golden_path(chart: Path, scenario: str) -> Path:
    return GOLDEN_DIR / chart.name / f"{scenario}.yaml"


def golden_render(chart: Path, scenario: str) -> str:
    if chart == PLATFORM_CHART:
        values = chart_values(PLATFORM_CHART, scenario)
        objects = render_chart(chart, values, release=PLATFORM_RELEASE, namespace=NAMESPACE)
    else:
        _, objects = render_parts(scenario_values(scenario, chart), chart=chart)
    return golden_text(objects)


def golden_scenarios(chart: Path) -> list[str]:
    if chart == PLATFORM_CHART:
        return scenario_names(PLATFORM_CHART)
    return scenario_names(chart)


def shared_schema_properties() -> dict[str, Any]:
    return json.loads(SHARED_SCHEMA.read_text())["properties"]


def synced_schema(chart: Path) -> str:
    """The chart's values.schema.json with the shared properties copied in, as committed."""
    schema = json.loads((chart / "values.schema.json").read_text())
    for key, value in shared_schema_properties().items():
        schema["properties"][key] = value
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_goldens() -> list[Path]:
    """Write every golden render and delete goldens of scenarios or charts that are gone."""
    written = []
    for chart in golden_charts():
        (GOLDEN_DIR / chart.name).mkdir(parents=True, exist_ok=True)
        for scenario in golden_scenarios(chart):
            path = golden_path(chart, scenario)
            path.write_text(golden_render(chart, scenario))
            written.append(path)
    for stale in set(GOLDEN_DIR.glob("**/*.yaml")) - set(written):
        stale.unlink()
    return written


def write_schemas() -> list[Path]:
    written = []
    for chart in job_chart_dirs():
        path = chart / "values.schema.json"
        path.write_text(synced_schema(chart))
        written.append(path)
    return written


def main() -> int:
    paths = write_schemas() + write_goldens()
    paths += [readme.write_readme(chart) for chart in readme.documented_charts()]
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
