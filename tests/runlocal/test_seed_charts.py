"""The seed example job charts, each run end to end by `python -m workflows run-local --chart DIR`
(rendered over the platform chart's defaults, as the command does), and what each one prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflows.__main__ import main
from workflows.chart import CHARTS_DIR, job_chart_dirs


def run_chart(capsys, tmp_path: Path, chart: str, *args: str) -> tuple[str, str, Path]:
    """Run the chart with its task logs kept; (stdout, stderr, the logs directory)."""
    code = main(
        [
            "run-local",
            "--chart",
            str(CHARTS_DIR / chart),
            "--volume-dir",
            str(tmp_path / "volume"),
            "--keep",
            "--jobs",
            "4",
            *args,
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    logs = Path(captured.err.split("logs of every task (kept): ", 1)[1].splitlines()[0])
    return captured.out, captured.err, logs


def printed(logs: Path) -> list[str]:
    """What every pod printed (its stdout), sorted."""
    return sorted(path.read_text().strip() for path in logs.rglob("stdout*") if path.is_file())


def test_hello_world_prints_its_message(capsys, tmp_path):
    _, err, logs = run_chart(capsys, tmp_path, "hello-world", "-p", "message=hello argo")
    assert "1/1 pods done" in err
    assert printed(logs) == ["hello argo"]


def test_loops_runs_one_pod_per_index(capsys, tmp_path):
    _, err, logs = run_chart(capsys, tmp_path, "loops")
    assert "5/5 pods done" in err
    assert printed(logs) == [f"index {i}" for i in range(1, 6)]
    _, err, logs = run_chart(capsys, tmp_path / "again", "loops", "-p", "start=3", "-p", "end=4")
    assert printed(logs) == ["index 3", "index 4"]


def test_loops_refuses_an_end_below_its_start(capsys, tmp_path):
    code = main(["run-local", "--chart", str(CHARTS_DIR / "loops"), "--set", "job.end=0"])
    assert code == 2
    assert "job.end 0 is below job.start 1" in capsys.readouterr().err


def test_dag_diamond_runs_its_four_tasks(capsys, tmp_path):
    _, err, logs = run_chart(capsys, tmp_path, "dag-diamond", "-p", "message=hi")
    assert "4/4 pods done" in err
    assert printed(logs) == ["hi A", "hi B", "hi C", "hi D"]


def test_fanout_maps_every_item_and_reduces_from_the_volume(capsys, tmp_path):
    out, err, _ = run_chart(capsys, tmp_path, "fanout", "-p", "count=6")
    assert "8/8 pods done" in err  # split, six maps, reduce
    assert json.loads(out) == {"items": 6, "sum": sum(i * i for i in range(1, 7))}
    (run,) = (tmp_path / "volume" / "runs").iterdir()
    assert sorted(p.name for p in (run / "map").iterdir()) == [f"{i}.txt" for i in range(1, 7)]


@pytest.mark.parametrize("chart", ["hello-world", "loops", "dag-diamond", "fanout"])
def test_every_seed_chart_is_a_job_chart_of_the_suite(chart):
    # The chart tests (render, strict validation on both Argo lines, lint, goldens, README)
    # cover every job chart under charts/; this pins that the seeds are among them.
    assert CHARTS_DIR / chart in job_chart_dirs()
