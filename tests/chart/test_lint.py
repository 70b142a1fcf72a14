"""helm lint (strict) on every chart with its defaults and with every ci scenario."""

from __future__ import annotations

import re
from pathlib import Path

import helm_python
import pytest
import yaml

from tests.chart.scenarios import (
    DEFAULTS,
    NAMESPACE,
    chart_values,
    job_values,
    scenario_names,
    scenario_values,
)
from workflows.chart import (
    LIBRARY_CHART,
    LOG_COUNT_CHART,
    PLATFORM_CHART,
    assemble_chart,
    job_chart_dirs,
)

WARNING = 2  # helm lint severities: 1 info, 2 warning, 3 error
CASES = [(PLATFORM_CHART, name) for name in scenario_names(PLATFORM_CHART)] + [
    (chart, name) for chart in job_chart_dirs() for name in scenario_names(chart)
]


def lint_values(chart: Path, scenario: str) -> dict:
    if chart == PLATFORM_CHART:
        return chart_values(PLATFORM_CHART, scenario)
    return job_values(scenario_values(scenario, chart))


@pytest.mark.parametrize(("chart", "scenario"), CASES, ids=[f"{c.name}-{s}" for c, s in CASES])
def test_lint_reports_no_warning_or_error(chart, scenario):
    report = helm_python.lint(
        assemble_chart(chart), lint_values(chart, scenario), strict=True, namespace=NAMESPACE
    )
    problems = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert not problems and not report["errors"], (scenario, problems, report["errors"])


def test_lint_without_namespace_names_objects_validly():
    # `helm lint` without -n renders with an empty namespace, which PV names are built from.
    report = helm_python.lint(assemble_chart(PLATFORM_CHART), {}, strict=True)
    assert not report["errors"], report["errors"]
    values = lint_values(LOG_COUNT_CHART, DEFAULTS)
    report = helm_python.lint(assemble_chart(LOG_COUNT_CHART), values, strict=True)
    assert not report["errors"], report["errors"]


@pytest.mark.parametrize("chart", [PLATFORM_CHART, *job_chart_dirs()], ids=lambda c: c.name)
def test_every_ci_file_names_its_scenario_in_a_comment(chart):
    for path in (chart / "ci").glob("*.yaml"):
        scenario = path.name.removesuffix("-values.yaml")
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"# Scenario: {scenario} — "), f"{path}: first line {first!r}"


def test_required_ci_scenarios_exist():
    required = {"kind-hostpath", "ack-oss-eci", "ack-nas-acs", "existing-claim", "schedule"}
    assert required <= set(scenario_names())


def helper_files() -> list[tuple[Path, str]]:
    """(helpers file, the prefix its named templates carry) of every chart."""
    files = [(path, "fanout.") for path in sorted((LIBRARY_CHART / "templates").glob("_*.tpl"))]
    for chart in [PLATFORM_CHART, *job_chart_dirs()]:
        for path in sorted((chart / "templates").glob("_*.tpl")):
            files.append((path, f"{chart.name}."))
    return files


@pytest.mark.parametrize(("path", "prefix"), helper_files(), ids=lambda v: str(v))
def test_helpers_are_namespaced_and_documented(path, prefix):
    helpers = path.read_text()
    names = re.findall(r'\bdefine "([^"]+)"', helpers)
    assert names
    for name in names:
        assert name.startswith(prefix), name
        doc = re.search(
            r"\{\{/\*\n"
            + re.escape(name)
            + r": (?:(?!\*/).)+\*/\}\}\n\{\{-? define \""
            + re.escape(name),
            helpers,
            re.DOTALL,
        )
        assert doc, f"helper {name} lacks a doc comment starting with its name"


def test_every_chart_declares_the_library_as_a_file_dependency():
    # What `helm dependency build charts/<chart>` resolves, and workflows.chart.assemble_chart.
    library = yaml.safe_load((LIBRARY_CHART / "Chart.yaml").read_text())
    for chart in [PLATFORM_CHART, *job_chart_dirs()]:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        assert {
            "name": "fanout-lib",
            "version": library["version"],
            "repository": "file://../fanout-lib",
        } in meta["dependencies"], chart
