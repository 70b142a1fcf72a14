"""Each chart's scenarios render exactly as their committed golden files (make golden)."""

from __future__ import annotations

import difflib

import pytest

from tests.chart.golden import (
    GOLDEN_DIR,
    golden_charts,
    golden_path,
    golden_render,
    golden_scenarios,
    synced_schema,
)
from workflows.chart import job_chart_dirs

DIFF_LINES = 60
CASES = [(chart, scenario) for chart in golden_charts() for scenario in golden_scenarios(chart)]


@pytest.mark.parametrize(("chart", "scenario"), CASES, ids=[f"{c.name}-{s}" for c, s in CASES])
def test_render_matches_golden(chart, scenario):
    path = golden_path(chart, scenario)
    assert path.exists(), f"no golden render {path}: run `make golden` and commit it"
    expected = path.read_text()
    actual = golden_render(chart, scenario)
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), str(path), "rendered", lineterm=""
        )
        shown = "\n".join(list(diff)[:DIFF_LINES])
        pytest.fail(
            f"{chart.name} {scenario} renders differently from {path}: run `make golden`, "
            f"review the diff and commit it if the change is intended.\n{shown}"
        )


def test_no_golden_without_a_scenario():
    expected = {golden_path(chart, scenario) for chart, scenario in CASES}
    stale = set(GOLDEN_DIR.glob("**/*.yaml")) - expected
    assert not stale, f"golden files without a scenario: {sorted(map(str, stale))}: make golden"


@pytest.mark.parametrize("chart", job_chart_dirs(), ids=lambda chart: chart.name)
def test_job_schema_holds_the_shared_properties(chart):
    # charts/fanout-lib/job-values.schema.json is the one source of the shared keys' rules.
    path = chart / "values.schema.json"
    assert path.read_text() == synced_schema(chart), f"{path}: run `make golden`"
