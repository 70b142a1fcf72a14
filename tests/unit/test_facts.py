"""Each fact has one home; the places that must repeat it (files no Python reads at run time:
the chart annotation, the Go module, the README) are compared with that home here."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from common import argolines
from common.paths import REPO_ROOT
from infra import config

ARGO_MODULE = "github.com/argoproj/argo-workflows/v4"


def test_ci_reads_the_validated_lines_from_the_one_file():
    printed = subprocess.run(
        [sys.executable, "-m", "common.argolines"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed == list(argolines.VALIDATED) and len(printed) >= 2
    for script in (REPO_ROOT / ".ci" / "run", REPO_ROOT / ".github" / "workflows" / "ci.yml"):
        text = script.read_text()
        assert "python3 -m common.argolines" in text
        for version in argolines.VALIDATED:
            assert version not in text, f"{script.name} repeats {version}"


def test_every_chart_that_names_argo_lines_names_the_validated_ones():
    charts = sorted((REPO_ROOT / "charts").glob("*/Chart.yaml"))
    annotated = {}
    for chart in charts:
        annotations = yaml.safe_load(chart.read_text()).get("annotations") or {}
        if "argo-fanout.io/argo-versions" in annotations:
            annotated[chart.parent.name] = annotations["argo-fanout.io/argo-versions"]
    assert "log-count" in annotated
    for name, value in annotated.items():
        assert [part.strip() for part in value.split(",")] == list(argolines.VALIDATED), name


def test_the_default_argo_chart_is_the_one_file_s():
    assert config.ARGO_CHART_VERSION == argolines.CHART_VERSION
    assert argolines.CHART_ARGO in argolines.VALIDATED
    row = next(
        line
        for line in (REPO_ROOT / "README.md").read_text().splitlines()
        if line.startswith("| `argo.chartVersion`")
    )
    assert f"`{argolines.CHART_VERSION}` (Argo {argolines.CHART_ARGO})" in row


def test_the_local_cluster_builds_the_recorded_exception():
    go_mod = (REPO_ROOT / "e2e" / "localcluster" / "argo" / "go.mod").read_text()
    required = re.search(rf"^\s*{re.escape(ARGO_MODULE)} (v\S+)", go_mod, re.M)
    assert required is not None and required.group(1) == argolines.LOCAL_CLUSTER
    assert argolines.LOCAL_CLUSTER not in argolines.VALIDATED


def test_one_repo_root():
    """Only common/paths.py computes the repository root from a file's place; scripts that must
    find the repository before they can import it (bench/, e2e/) are the exception."""
    pattern = re.compile(r"REPO(_ROOT)?\s*=\s*.*(parents?\b|\.parent)")
    offenders = []
    for path in sorted(REPO_ROOT.glob("**/*.py")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative.split("/")[0] in (".venv", "bench", "e2e") or relative == "common/paths.py":
            continue
        if pattern.search(path.read_text()):
            offenders.append(relative)
    assert offenders == []
