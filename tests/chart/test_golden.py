"""Each scenario renders exactly as its committed golden file (regenerate: make golden)."""

from __future__ import annotations

import difflib

import pytest

from tests.chart.golden import GOLDEN_DIR, golden_path, golden_text
from tests.chart.scenarios import render_scenario, scenario_names

DIFF_LINES = 60


@pytest.mark.parametrize("scenario", scenario_names())
def test_render_matches_golden(scenario):
    path = golden_path(scenario)
    assert path.exists(), f"no golden render {path}: run `make golden` and commit it"
    expected = path.read_text()
    actual = golden_text(render_scenario(scenario))
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), str(path), "rendered", lineterm=""
        )
        shown = "\n".join(list(diff)[:DIFF_LINES])
        pytest.fail(
            f"{scenario} renders differently from {path}: run `make golden`, review the "
            f"diff and commit it if the change is intended.\n{shown}"
        )


def test_no_golden_without_a_scenario():
    stale = {p.stem for p in GOLDEN_DIR.glob("*.yaml")} - set(scenario_names())
    assert not stale, f"golden files without a scenario: {sorted(stale)}: run `make golden`"
