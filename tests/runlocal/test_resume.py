"""`run-local --resume`: an earlier run again, under its name, in its volume directory."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.job.jobcode import count_file
from tests.runlocal.test_chart import assert_exact, generate, run_cli
from workflows.chart import LOG_COUNT_CHART
from workflows.runlocal import resume
from workflows.runlocal.engine import RunError
from workflows.runlocal.local import Origin, render_job, run_local
from workflows.runlocal.progress import Reporter

NO_RETRY = {"workflow": {"retry": {"limit": 0}}}


def count_files(volume: Path) -> dict[str, tuple[int, int]]:
    """Every count file of the volume's one run: shard id -> (inode, mtime in ns)."""
    (run_dir,) = (volume / "runs").iterdir()
    found = {}
    for path in (run_dir / "counts").rglob("*.json"):
        status = path.stat()
        found[path.stem] = (status.st_ino, status.st_mtime_ns)
    return found


def test_resume_counts_exactly_the_missing_shards_again_and_the_result_is_identical(
    tmp_path, capsys
):
    # Needs count.py to exit at once, leaving its count file alone, when that file is intact
    # for the same shard, input and settings (issue 16, the job side).
    source = generate(tmp_path / "in" / "app.log", "--lines", "3000", "--seed", "16")
    volume = tmp_path / "volume"
    code, out, err = run_cli(
        capsys, "--input", str(source), "--volume-dir", str(volume), "-p", "numParts=300"
    )
    assert code == 0, err
    first = json.loads(out)
    assert first["shards"] == 300
    before = count_files(volume)
    assert len(before) == 300
    (run_dir,) = (volume / "runs").iterdir()
    deleted = ["7", "150", "299"]
    for shard in deleted:
        (count_file(run_dir, shard)).unlink()

    code, out, err = run_cli(capsys, "--resume", str(run_dir))
    assert code == 0, err
    assert json.loads(out) == first
    assert_exact(first, source)
    after = count_files(volume)
    assert sorted(after) == sorted(before)
    recounted = sorted((shard for shard in after if after[shard] != before.get(shard)), key=int)
    assert recounted == deleted
    assert [path.name for path in (volume / "runs").iterdir()] == [run_dir.name]


def failing_python(tmp_path: Path, part: str, code: int = 1) -> Path:
    """An interpreter that fails count.py for one shard with exit `code`, and runs the rest."""
    wrapper = tmp_path / "python"
    wrapper.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import os, sys
            if sys.argv[1].endswith("/count.py") and "--part={part}" in sys.argv:
                sys.exit({code})
            os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])
            """
        )
    )
    wrapper.chmod(0o755)
    return wrapper


def test_a_failed_run_resumed_succeeds_under_its_name_with_its_parameters(tmp_path):
    source = generate(tmp_path / "in" / "app.log", "--size", "200KiB", "--seed", "3")
    volume = tmp_path / "volume"
    origin = Origin(LOG_COUNT_CHART, NO_RETRY)
    failed = run_local(
        render_job(origin.chart, origin.values),
        parameters={"numParts": "5", "keywords": "INFO,ERROR"},
        input_path=source,
        volume_dir=volume,
        jobs=2,
        reporter=Reporter(io.StringIO()),
        python=str(failing_python(tmp_path, "3")),
        origin=origin,
    ).result
    assert failed.phase.value == "Failed"
    # merge runs after the failed count too (minSuccessRatio 1: it fails on the missing shard).
    assert [node.name for node in failed.failed] == ["map(3:3)", "reduce"]

    found_volume, record = resume.find(volume)
    assert (found_volume, record.name) == (volume.resolve(), failed.name)
    assert record.chart == LOG_COUNT_CHART.resolve()
    assert record.values == NO_RETRY
    # Every parameter, the defaults too, and the input where it was placed in the volume.
    assert record.parameters["numParts"] == "5"
    assert record.parameters["keywords"] == "INFO,ERROR"
    assert record.parameters["match"] == "substring"
    staged = volume / record.parameters["input"]
    assert staged.read_bytes() == source.read_bytes()

    resumed = run_local(
        render_job(record.chart, record.values),
        parameters=record.parameters,
        input_path=None,
        volume_dir=found_volume,
        jobs=2,
        reporter=Reporter(io.StringIO()),
        python=sys.executable,
        origin=Origin(record.chart, record.values),
        name=record.name,
    )
    assert resumed.result.phase.value == "Succeeded"
    assert resumed.result.name == failed.name
    assert_exact(json.loads(resumed.result.outputs["result"]), source, ["INFO", "ERROR"])
    assert resumed.result.output_files["result"] == (
        volume.resolve() / "runs" / failed.name / "result.json"
    )


def test_a_failed_run_says_how_to_resume_it_and_resuming_picks_up_the_fix(tmp_path, capsys):
    volume = tmp_path / "volume"
    code, _, err = run_cli(
        capsys, "--volume-dir", str(volume), "-p", "input=logs/app.log", "-p", "numParts=3"
    )
    assert code == 1
    assert "split.py: error: input (--input)" in err
    (record,) = (volume / resume.RECORDS_DIR).glob("*.json")
    assert f"python -m workflows run-local --resume {record}\n" in err
    source = generate(volume / "logs" / "app.log", "--size", "50KiB", "--seed", "5")
    code, out, err = run_cli(capsys, "--resume", str(record))
    assert code == 0, err
    assert_exact(json.loads(out), source)
    assert (volume / "runs" / record.stem / "result.json").is_file()


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--input", "x.log"], "--input"),
        (["-p", "numParts=3"], "-p/--parameter"),
        (["--set", "job.numParts=3"], "--set"),
        (["-f", "v.yaml"], "-f/--values"),
        (["--volume-dir", "v"], "--volume-dir"),
        (["--chart", "c"], "--chart"),
    ],
)
def test_resume_refuses_what_the_record_already_says(tmp_path, capsys, extra, flag):
    volume = tmp_path / "volume"
    resume.RunRecord("log-count-local-abcde", LOG_COUNT_CHART, {}, {"input": "x"}).save(volume)
    code, _, err = run_cli(capsys, "--resume", str(volume), *extra)
    assert code == 2
    assert err == (
        "run-local: --resume runs the earlier run with its own chart, values, parameters and "
        f"volume directory: drop {flag}\n"
    )


def test_resume_finds_the_run_by_volume_work_directory_or_record(tmp_path):
    volume = tmp_path / "volume"
    older = resume.RunRecord("log-count-local-older", LOG_COUNT_CHART, {}, {"input": "a"})
    newer = resume.RunRecord("log-count-local-newer", LOG_COUNT_CHART, {"x": 1}, {"input": "b"})
    older_path = older.save(volume)
    newer.save(volume)
    (volume / "runs" / older.name / "counts").mkdir(parents=True)
    # The volume: its latest run.
    assert resume.find(volume) == (volume.resolve(), newer)
    # A run's directory in the volume, and its record: that run.
    assert resume.find(volume / "runs" / older.name) == (volume.resolve(), older)
    assert resume.find(older_path) == (volume.resolve(), older)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: root / "nowhere", "no such directory"),
        (lambda root: root, "no run-local run is recorded for it"),
        (lambda root: (root / resume.RECORDS_DIR).mkdir() or root, "records no run"),
    ],
)
def test_resume_of_nothing_recorded_says_what_to_give(tmp_path, setup, message):
    with pytest.raises(RunError, match=message):
        resume.find(setup(tmp_path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not JSON"),
        ('{"version": 99}', "is not a run record of this run-local"),
        ('{"version": 1, "name": "x"}', "is incomplete"),
    ],
)
def test_a_damaged_record_is_named(tmp_path, content, message):
    records = tmp_path / resume.RECORDS_DIR
    records.mkdir()
    (records / "x.json").write_text(content)
    with pytest.raises(RunError, match=message):
        resume.find(tmp_path)
