"""helm lint (strict) on the chart with its defaults and with every ci scenario."""

from __future__ import annotations

import re

import helm_python
import pytest

from tests.chart.scenarios import DEFAULTS, NAMESPACE, scenario_names, scenario_values
from workflows.chart import LOG_COUNT_CHART

WARNING = 2  # helm lint severities: 1 info, 2 warning, 3 error


@pytest.mark.parametrize("scenario", scenario_names())
def test_lint_reports_no_warning_or_error(scenario):
    report = helm_python.lint(
        LOG_COUNT_CHART, scenario_values(scenario), strict=True, namespace=NAMESPACE
    )
    problems = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert not problems and not report["errors"], (scenario, problems, report["errors"])


def test_lint_without_namespace_names_objects_validly():
    # `helm lint` without -n renders with an empty namespace, which PV names are built from.
    report = helm_python.lint(LOG_COUNT_CHART, scenario_values(DEFAULTS), strict=True)
    assert not report["errors"], report["errors"]


def test_every_ci_file_names_its_scenario_in_a_comment():
    for path in (LOG_COUNT_CHART / "ci").glob("*.yaml"):
        scenario = path.name.removesuffix("-values.yaml")
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"# Scenario: {scenario} — "), f"{path}: first line {first!r}"


def test_required_ci_scenarios_exist():
    required = {"kind-hostpath", "ack-oss-eci", "ack-nas-acs", "existing-claim", "schedule"}
    assert required <= set(scenario_names())


def test_helpers_are_namespaced_and_documented():
    helpers = (LOG_COUNT_CHART / "templates" / "_helpers.tpl").read_text()
    names = re.findall(r'\bdefine "([^"]+)"', helpers)
    assert names
    for name in names:
        assert name.startswith("log-count."), name
        doc = re.search(
            r"\{\{/\*\n"
            + re.escape(name)
            + r": (?:(?!\*/).)+\*/\}\}\n\{\{-? define \""
            + re.escape(name),
            helpers,
            re.DOTALL,
        )
        assert doc, f"helper {name} lacks a doc comment starting with its name"
