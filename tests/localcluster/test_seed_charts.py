"""The seed example job charts on the local real cluster: each installed with real Helm over the
platform release (the `release` fixture installs it) and run by Argo to success.

Not run by `make test` (no cluster): `make cluster` first, then
`.venv/bin/python -m pytest -m localcluster tests/localcluster/test_seed_charts.py`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.localcluster.support import LocalCluster
from workflows.chart import CHARTS_DIR

pytestmark = pytest.mark.localcluster

# (chart, parameters of the run, how many pods it must have run to success)
CASES = [
    ("hello-world", {"message": "hello cluster"}, 1),
    ("loops", {"start": "1", "end": "5"}, 5),
    ("dag-diamond", {"message": "hi"}, 4),
    ("fanout", {"count": "6"}, 8),  # split, six maps, reduce
]


def seed_values(cluster: LocalCluster, release: str) -> dict[str, Any]:
    """The seed chart's values on this cluster: the step image the cluster holds, the platform
    block (release_values builds it for the platform release the fixture installed)."""
    log_count = cluster.release_values()
    return {
        "fullnameOverride": release,
        "image": log_count["image"],
        "platform": log_count["platform"],
        "workflow": {"retry": {"backoff": {"duration": "1s"}}},
    }


@pytest.mark.parametrize(("chart", "parameters", "pods"), CASES, ids=[c[0] for c in CASES])
def test_seed_chart_runs_to_success(cluster: LocalCluster, release, chart, parameters, pods):
    name = f"seed-{chart}"
    cluster.install(CHARTS_DIR / chart, name, seed_values(cluster, name))
    try:
        run = cluster.run(name, parameters)
        assert run.phase == "Succeeded", run.describe()
        succeeded = [n for n in run.nodes() if n.get("type") == "Pod" and n["phase"] == "Succeeded"]
        assert len(succeeded) == pods, run.describe()
        if chart == "fanout":  # reduce's stdout: the entrypoint's (root node's) output
            (root,) = [n for n in run.nodes() if n["id"] == run.name]
            (result,) = root["outputs"]["parameters"]
            assert json.loads(result["value"]) == {"items": 6, "sum": 91}
    finally:
        cluster.uninstall(name)
