"""workflows.chart.assemble_chart: a chart with its file:// library in charts/, at a stable path,
rebuilt only when a source changed; what `helm dependency build` would give, outside the tree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.workload import chart_digest
from workflows import chart as chart_module
from workflows.chart import (
    LIBRARY_CHART,
    LOG_COUNT_CHART,
    ChartDependencyError,
    assemble_chart,
    render_chart,
)

LIBRARY = {"name": "lib", "version": "1.2.3", "repository": "file://../lib"}


@pytest.fixture
def charts(tmp_path, monkeypatch):
    """A charts/ directory of our own with a library `lib` and a job chart `job` on it."""
    charts = tmp_path / "charts"
    monkeypatch.setattr(chart_module, "CHARTS_DIR", charts)
    monkeypatch.setattr(chart_module, "ASSEMBLED_DIR", tmp_path / ".charts")
    write(charts / "lib" / "Chart.yaml", {"apiVersion": "v2", "name": "lib", "version": "1.2.3"})
    (charts / "lib" / "templates").mkdir()
    (charts / "lib" / "templates" / "_lib.tpl").write_text('{{- define "lib.word" -}}one{{- end }}')
    job = {"apiVersion": "v2", "name": "job", "version": "0.1.0", "dependencies": [LIBRARY]}
    write(charts / "job" / "Chart.yaml", job)
    (charts / "job" / "templates").mkdir()
    (charts / "job" / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        'data: {word: {{ include "lib.word" . | quote }}}\n'
    )
    return charts


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))


def rendered_word(chart: Path) -> str:
    (config_map,) = render_chart(chart, {}, release="r", namespace="n")
    return config_map["data"]["word"]


def test_the_library_lands_in_charts_at_a_stable_path(charts, tmp_path):
    assembled = assemble_chart(charts / "job")
    assert assembled == tmp_path / ".charts" / "job"
    assert (assembled / "charts" / "lib" / "templates" / "_lib.tpl").is_file()
    assert not (charts / "job" / "charts").exists()  # the source tree is left as it is
    stamp = (assembled / "Chart.yaml").stat().st_mtime_ns
    assert assemble_chart(charts / "job") == assembled
    assert (assembled / "Chart.yaml").stat().st_mtime_ns == stamp  # not rebuilt
    assert rendered_word(charts / "job") == "one"


def test_a_library_change_rebuilds_the_copy(charts):
    assert rendered_word(charts / "job") == "one"
    (charts / "lib" / "templates" / "_lib.tpl").write_text('{{- define "lib.word" -}}two{{- end }}')
    assert rendered_word(charts / "job") == "two"


def test_a_job_change_rebuilds_the_copy_and_drops_removed_files(charts):
    (charts / "job" / "templates" / "extra.yaml").write_text("# nothing\n")
    assembled = assemble_chart(charts / "job")
    assert (assembled / "templates" / "extra.yaml").is_file()
    (charts / "job" / "templates" / "extra.yaml").unlink()
    assert not (assemble_chart(charts / "job") / "templates" / "extra.yaml").exists()
    assert sorted(p.name for p in assembled.parent.iterdir() if p.is_dir()) == ["job"]


def test_what_helm_dependency_build_left_in_the_source_is_not_copied(charts):
    (charts / "job" / "charts").mkdir()
    (charts / "job" / "charts" / "lib-1.2.3.tgz").write_bytes(b"stale")
    (charts / "job" / "Chart.lock").write_text("dependencies: []\n")
    assembled = assemble_chart(charts / "job")
    assert sorted(p.name for p in (assembled / "charts").iterdir()) == ["lib"]
    assert not (assembled / "Chart.lock").exists()


def test_byte_code_is_left_out(charts):
    (charts / "job" / "files" / "__pycache__").mkdir(parents=True)
    (charts / "job" / "files" / "__pycache__" / "a.cpython-312.pyc").write_bytes(b"\0")
    (charts / "job" / "files" / "a.py").write_text("print(1)\n")
    assembled = assemble_chart(charts / "job")
    assert [p.name for p in (assembled / "files").iterdir()] == ["a.py"]


def test_a_chart_outside_charts_gets_a_directory_of_its_own(charts, tmp_path):
    other = tmp_path / "elsewhere" / "job"
    other.parent.mkdir()
    (charts / "job").rename(other)
    meta = yaml.safe_load((other / "Chart.yaml").read_text())
    meta["dependencies"][0]["repository"] = "file://../../charts/lib"
    write(other / "Chart.yaml", meta)
    assembled = assemble_chart(other)
    assert assembled.parent == tmp_path / ".charts" and assembled.name.startswith("job-")
    assert rendered_word(other) == "one"


def test_a_chart_without_dependencies_is_used_in_place(charts):
    assert assemble_chart(charts / "lib") == (charts / "lib").resolve()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"repository": "https://charts.example.com"},
            r"dependencies\[0\]\.repository: 'https://charts.example.com' is not a file:// path",
        ),
        ({"repository": "file://../nowhere"}, r"dependencies\[0\]\.repository: .*nowhere holds no"),
        ({"version": "1.2.4"}, r"dependencies\[0\]\.version: '1.2.4', but .*lib/Chart.yaml says"),
        ({"name": "library"}, r"dependencies\[0\]\.name: 'library', but .*lib/Chart.yaml says"),
    ],
)
def test_a_dependency_it_cannot_assemble_is_named(charts, change, message):
    meta = yaml.safe_load((charts / "job" / "Chart.yaml").read_text())
    meta["dependencies"] = [{**LIBRARY, **change}]
    write(charts / "job" / "Chart.yaml", meta)
    with pytest.raises(ChartDependencyError, match=message):
        assemble_chart(charts / "job")


def test_the_release_digest_follows_the_library(charts):
    first = chart_digest(charts / "job")
    (charts / "lib" / "templates" / "_lib.tpl").write_text('{{- define "lib.word" -}}two{{- end }}')
    assert chart_digest(charts / "job") != first


def test_the_repository_charts_assemble_with_the_library():
    assembled = assemble_chart(LOG_COUNT_CHART)
    assert assembled == chart_module.ASSEMBLED_DIR / "log-count"
    library = assembled / "charts" / "fanout-lib"
    copied = sorted(p.relative_to(library) for p in library.rglob("*") if p.is_file())
    assert copied == sorted(
        p.relative_to(LIBRARY_CHART) for p in LIBRARY_CHART.rglob("*") if p.is_file()
    )
