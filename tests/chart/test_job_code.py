"""The chart ships exactly the job scripts of its files/log-count, byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess

import helm_python
import pytest

from common.paths import REPO_ROOT
from tests.chart.scenarios import job_values, only, render_parts
from workflows import chart as chart_module
from workflows.chart import LIBRARY_CHART, LOG_COUNT_CHART, load_chart, render_chart
from workflows.job import JOB_DIR


def test_config_map_carries_every_script_with_identical_contents():
    scripts = {path.name: path.read_text() for path in sorted(JOB_DIR.glob("*.py"))}
    assert {"split.py", "count.py", "merge.py", "logcount.py"} <= set(scripts)
    config_map = only(render_parts({})[1], "ConfigMap")
    assert config_map["data"] == scripts


def test_the_scripts_live_in_the_chart_and_the_repository_has_no_symlink():
    # `pulumi new <this repository>` copies the template by reading every file and fails on a
    # symlinked directory ("read .../files/log-count: is a directory"), as the chart's old link
    # to the job did; the job's one home is now the chart's files/ directory.
    assert JOB_DIR == LOG_COUNT_CHART / "files" / "log-count"
    listed = subprocess.run(
        ["git", "ls-files", "-s"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    links = [line.split("\t", 1)[1] for line in listed if line.startswith("120000 ")]
    assert links == []


def test_helmignore_keeps_byte_code_out_of_the_chart(tmp_path):
    # A copy of the chart with Python's leftovers in its job directory.
    chart_dir = tmp_path / "log-count"
    shutil.copytree(LOG_COUNT_CHART, chart_dir)
    job_dir = chart_dir / "files" / "log-count"
    (job_dir / "__pycache__").mkdir(exist_ok=True)
    (job_dir / "__pycache__" / "split.cpython-312.pyc").write_bytes(b"\x00")
    (job_dir / "stray.pyc").write_bytes(b"\x00")
    chart = helm_python.Chart.load(str(chart_dir))
    try:
        files = [entry["name"] for entry in chart.files]
    finally:
        chart.close()
    assert "files/log-count/split.py" in files
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]


def test_chart_without_scripts_fails_to_render(tmp_path, monkeypatch):
    monkeypatch.setattr(chart_module, "ASSEMBLED_DIR", tmp_path / "assembled")
    # E.g. a copy that lost files/: an empty ConfigMap would only fail inside the pods.
    chart_dir = tmp_path / "log-count"
    shutil.copytree(LOG_COUNT_CHART, chart_dir)
    shutil.copytree(LIBRARY_CHART, tmp_path / LIBRARY_CHART.name)  # its file://../fanout-lib
    shutil.rmtree(chart_dir / "files" / "log-count")
    with pytest.raises(helm_python.HelmRenderError, match=r"no job scripts under files/log-count"):
        render_chart(chart_dir, job_values({}), release="log-count", namespace="batch")


def test_rendering_prints_no_helm_symlink_notice(capfd):
    values = job_values({})
    capfd.readouterr()
    render_chart(LOG_COUNT_CHART, values, release="log-count", namespace="batch")
    assert capfd.readouterr().err == ""


def test_loading_passes_on_helm_stderr_other_than_symlink_notices(capfd, monkeypatch):
    real_load = helm_python.Chart.load

    def noisy_load(path):
        os.write(2, b"2026/11/21 06:54:28 INFO found symbolic link in path. path=x resolved=y\n")
        os.write(2, b"2026/11/21 06:54:28 WARN something else\n")
        return real_load(path)

    monkeypatch.setattr(helm_python.Chart, "load", noisy_load)
    load_chart(LOG_COUNT_CHART).close()
    assert capfd.readouterr().err == "2026/11/21 06:54:28 WARN something else\n"
