"""Golden renders of the log-count chart, one per scenario, under tests/chart/golden/.

Regenerate them (and the chart README) with `make golden`, i.e. `python -m tests.chart.golden`,
then review the diff. The ConfigMap that ships the job scripts shows its data as one placeholder,
so adding or editing a script does not change the goldens; tests/chart/test_job_code.py checks
that it carries exactly charts/log-count/files/log-count/*.py.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.chart import readme
from tests.chart.scenarios import render_scenario, scenario_names

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SCRIPTS_PLACEHOLDER = {
    "<name>.py": "<each charts/log-count/files/log-count/*.py, checked by test_job_code.py>"
}


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


def golden_path(scenario: str) -> Path:
    return GOLDEN_DIR / f"{scenario}.yaml"


def write_goldens() -> list[Path]:
    """Write every scenario's golden render and delete goldens of scenarios that are gone."""
    GOLDEN_DIR.mkdir(exist_ok=True)
    written = []
    for scenario in scenario_names():
        path = golden_path(scenario)
        path.write_text(golden_text(render_scenario(scenario)))
        written.append(path)
    for stale in set(GOLDEN_DIR.glob("*.yaml")) - set(written):
        stale.unlink()
    return written


def main() -> int:
    for path in [*write_goldens(), readme.write_readme()]:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
