"""The real chart's WorkflowTemplate run end to end by run-local, checked against the oracle."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from common.paths import REPO_ROOT
from tests.support.oracle import expected_result
from workflows.__main__ import main
from workflows.chart import LOG_COUNT_CHART, user_values
from workflows.job import JOB_DIR
from workflows.runlocal.local import render_job, run_local
from workflows.runlocal.progress import Reporter
from workflows.runlocal.spec import check_workflow_template

GENERATE = JOB_DIR / "generate.py"
KEYWORDS = ["INFO", "WARN", "ERROR", "DEBUG"]


def generate(output: Path, *args: str) -> Path:
    subprocess.run(
        [sys.executable, str(GENERATE), "--output", str(output), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return output


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["run-local", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_exact(result: dict, input_path: Path, keywords=KEYWORDS, match="substring") -> None:
    expected = expected_result(input_path, keywords, match)
    assert {key: result[key] for key in expected} == expected


def test_single_file(tmp_path, capsys):
    source = generate(tmp_path / "in" / "app.log", "--size", "600KiB", "--seed", "11")
    volume = tmp_path / "volume"
    code, out, err = run_cli(
        capsys,
        "--input",
        str(source),
        "--volume-dir",
        str(volume),
        "-p",
        "numParts=4",
        "--jobs",
        "2",
    )
    assert code == 0, err
    result = json.loads(out)
    assert_exact(result, source)
    assert result["shards"] == 4
    # The result file named on stderr is the one the merge step wrote in the volume.
    (result_file,) = volume.glob("runs/log-count-local-*/result.json")
    assert f"result: {result_file}" in err
    assert json.loads(result_file.read_text()) == result
    # Without a terminal: status lines (at most one a second), not two lines per pod; the last
    # one counts every pod: split, the 4 counts, merge.
    assert " map(3:3) " not in err
    assert "6/6 pods done, 0 running" in err


def test_keywords_that_look_like_mount_paths_count_exactly(tmp_path, capsys):
    # /data and /tmp are the chart's mount paths: run-local maps the template's own paths to
    # local directories, never a parameter value.
    source = tmp_path / "in" / "paths.log"
    source.parent.mkdir()
    source.write_bytes(b"GET /data/x\n/tmp/y /data\nnone\n/database /tmp\n" * 50)
    keywords = ["/data", "/tmp"]
    code, out, err = run_cli(
        capsys,
        "--input",
        str(source),
        "--volume-dir",
        str(tmp_path / "volume"),
        "-p",
        "keywords=/data,/tmp",
        "-p",
        "numParts=3",
    )
    assert code == 0, err
    result = json.loads(out)
    assert_exact(result, source, keywords)
    assert result["counts"] == {"/data": 150, "/tmp": 100}


def test_directory_of_files_with_word_match(tmp_path, capsys):
    source = generate(tmp_path / "in", "--size", "300KiB", "--files", "3", "--seed", "5")
    code, out, err = run_cli(
        capsys,
        "--input",
        str(source),
        "--volume-dir",
        str(tmp_path / "volume"),
        "-p",
        "match=word",
        "-p",
        "keywords=ERROR,WARN",
    )
    assert code == 0, err
    assert_exact(json.loads(out), source, ["ERROR", "WARN"], "word")


def test_empty_file(tmp_path, capsys):
    source = tmp_path / "empty.log"
    source.write_bytes(b"")
    code, out, err = run_cli(capsys, "--input", str(source), "--volume-dir", str(tmp_path / "v"))
    assert code == 0, err
    result = json.loads(out)
    assert_exact(result, source)
    assert result["lines"] == 0


def test_more_parts_than_lines(tmp_path, capsys):
    source = generate(tmp_path / "three.log", "--lines", "3", "--seed", "2")
    code, out, err = run_cli(
        capsys, "--input", str(source), "--volume-dir", str(tmp_path / "v"), "-p", "numParts=10"
    )
    assert code == 0, err
    assert_exact(json.loads(out), source)


def test_part_size_sets_the_fan_out_width(tmp_path, capsys):
    source = generate(tmp_path / "big.log", "--size", "512KiB", "--seed", "9")
    code, out, err = run_cli(
        capsys, "--input", str(source), "--volume-dir", str(tmp_path / "v"), "-p", "partSize=64KiB"
    )
    assert code == 0, err
    result = json.loads(out)
    assert_exact(result, source)
    assert result["shards"] >= 8  # 512 KiB in line-aligned shards of about 64 KiB


def test_input_already_in_the_volume_is_used_in_place(tmp_path, capsys):
    volume = tmp_path / "volume"
    source = generate(volume / "log-count-data.txt", "--lines", "50")
    code, out, err = run_cli(capsys, "--volume-dir", str(volume))  # the template's default input
    assert code == 0, err
    assert_exact(json.loads(out), source)
    assert not (volume / "inputs").exists()


def test_concurrent_runs_in_one_volume_do_not_interfere(tmp_path):
    volume = tmp_path / "volume"
    sources = [
        generate(tmp_path / f"in-{seed}.log", "--size", "400KiB", "--seed", str(seed))
        for seed in (21, 22)
    ]
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workflows",
                "run-local",
                "--input",
                str(source),
                "--volume-dir",
                str(volume),
                "-p",
                "numParts=6",
                "--jobs",
                "2",
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for source in sources
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    for run, (out, err), source in zip(runs, outputs, sources, strict=True):
        assert run.returncode == 0, err
        assert_exact(json.loads(out), source)
    assert len(list(volume.glob("runs/log-count-local-*/result.json"))) == 2


def test_a_failing_task_is_reported_with_exit_code_and_stderr(tmp_path, capsys):
    code, _, err = run_cli(capsys, "--volume-dir", str(tmp_path / "v"), "-p", "input=missing.log")
    assert code == 1
    assert "failed task split: Failed, exit code 2" in err
    assert "missing.log" in err.split("stderr tail", 1)[1]  # split's own one-line error
    # The job's usage exit code is not retried (the chart's retryStrategy.expression): one
    # attempt, no backoff, whatever workflow.retry.limit says.
    assert "retryStrategy.expression evaluated to false" in err
    assert "retrying" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-p", "colour=red"],
            "-p colour: the template has no parameter 'colour' "
            "(parameters: numParts, partSize, input, keywords, match, minSuccessRatio)",
        ),
        (["-p", "match=regex"], "-p match=regex: not allowed"),
        (["-p", "numParts"], "-p 'numParts': expected NAME=VALUE"),
        (["--input", "/no/such/input"], "--input /no/such/input: no such file or directory"),
        (["--input", "x", "-p", "input=y"], "--input and -p input=... both set the input"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(tmp_path, capsys, args, message):
    code, _, err = run_cli(capsys, "--volume-dir", str(tmp_path / "v"), *args)
    assert code == 2
    assert message in err
    assert not list((tmp_path / "v").glob("runs/*"))


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """The directory every temporary directory of this test goes to (empty at first)."""
    root = tmp_path / "temp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-p", "numPart=8"],
            "run-local: -p numPart: the template has no parameter 'numPart'; "
            "did you mean 'numParts'? "
            "(parameters: numParts, partSize, input, keywords, match, minSuccessRatio)",
        ),
        (
            ["-p", "numParts=abc"],
            "run-local: -p numParts=abc: numParts (--parts): 'abc' is not an integer",
        ),
        (["-p", "partSize=1XB"], "run-local: -p partSize=1XB: partSize (--part-size): invalid"),
        (["-p", "keywords=INFO,,WARN"], "keywords (--keywords): empty keyword in 'INFO,,WARN'"),
        (["-p", "match=Word"], "run-local: -p match=Word: not allowed; the template allows"),
        (["-p", "keywords={{workflow.name}}"], "parameter values are data, and '{{' is not"),
        (["-p", "input=../../etc/passwd"], "input (--input): '../../etc/passwd' leaves the volume"),
        (["-p", "input=/etc/passwd"], "input (--input): '/etc/passwd' is absolute"),
        (["--input", "missing.log"], "run-local: --input missing.log: no such file or directory"),
    ],
)
def test_a_refused_run_fails_at_once_in_one_line_creating_nothing(
    temp_root, capsys, monkeypatch, args, message
):
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a))
    code, out, err = run_cli(capsys, *args)  # no --volume-dir: it would be a temporary one
    assert (code, out) == (2, "")
    assert err.startswith(message) or message in err, err
    assert err.count("\n") == 1, err
    assert not list(temp_root.iterdir()) and not started


def test_a_run_keeps_no_temporary_directory_without_keep(temp_root, tmp_path, capsys):
    source = tmp_path / "in.log"
    source.write_bytes(b"INFO x\n" * 20)
    code, out, err = run_cli(capsys, "--input", str(source), "-p", "numParts=2")
    assert code == 0, err
    assert json.loads(out)["counts"]["INFO"] == 20
    assert not list(temp_root.iterdir())
    assert "(kept)" not in err


def test_keep_keeps_the_volume_and_the_logs_and_says_where(temp_root, tmp_path, capsys):
    source = tmp_path / "in.log"
    source.write_bytes(b"INFO x\n" * 20)
    code, out, err = run_cli(capsys, "--input", str(source), "-p", "numParts=2", "--keep")
    assert code == 0, err
    volume, state = sorted(temp_root.iterdir(), key=lambda path: "volume" not in path.name)
    assert f"volume directory (kept): {volume}" in err
    assert f"logs of every task (kept): {state / 'pods'}" in err
    (result_file,) = volume.glob("runs/*/result.json")
    assert json.loads(result_file.read_text()) == json.loads(out)


def test_a_failed_run_without_keep_says_how_to_keep_the_logs(temp_root, capsys):
    code, _, err = run_cli(capsys, "-p", "input=missing.log")
    assert code == 1
    assert "run again with --keep to keep them" in err
    assert not list(temp_root.iterdir())


def write_fault_injector(tmp_path: Path, part: str) -> tuple[Path, Path]:
    """A stand-in for the container's python that SIGKILLs count.py for `part` once, mid-run.

    The first attempt for that part runs with a sitecustomize hook that kills the process just
    before it renames its finished counts file into place: the work is done, nothing committed.
    Later attempts run the real interpreter untouched. The job scripts are not modified.
    """
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        textwrap.dedent(
            """\
            import os
            import signal

            def _killed_before_commit(*args, **kwargs):
                os.kill(os.getpid(), signal.SIGKILL)

            os.replace = _killed_before_commit
            """
        )
    )
    marker = tmp_path / "killed-once"
    wrapper = tmp_path / "python"
    wrapper.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import os, sys
            real = {sys.executable!r}
            marker = {str(marker)!r}
            first = sys.argv[1].endswith("/count.py") and "--part={part}" in sys.argv
            if first and not os.path.exists(marker):
                open(marker, "w").close()
                os.environ["PYTHONPATH"] = {str(hooks)!r}
            os.execv(real, [real, *sys.argv[1:]])
            """
        )
    )
    wrapper.chmod(0o755)
    return wrapper, marker


def test_a_count_task_killed_mid_run_is_retried_and_the_result_is_exact(tmp_path):
    source = generate(tmp_path / "app.log", "--size", "400KiB", "--seed", "4")
    wrapper, marker = write_fault_injector(tmp_path, part="2")
    progress = io.StringIO()
    result = run_local(
        render_job(LOG_COUNT_CHART, {"workflow": {"retry": {"backoff": {"duration": "20ms"}}}}),
        parameters={"numParts": "4"},
        input_path=source,
        volume_dir=tmp_path / "volume",
        jobs=2,
        reporter=Reporter(progress),
        python=str(wrapper),
    ).result
    assert marker.exists()
    assert (
        "map(2:2)             Failed  main: Error (exit code 137); retrying (attempt 2 of 4)"
        in progress.getvalue()
    )
    assert result.phase.value == "Succeeded", progress.getvalue()
    assert_exact(json.loads(result.outputs["result"]), source)
    assert result.outputs["result"] == result.output_files["result"].read_text().rstrip()
    # merge exports it with globalName, as Argo's status.outputs carries it.
    assert result.global_outputs == {"result": result.outputs["result"]}


@pytest.mark.parametrize(
    "scenario", sorted(path.name for path in (LOG_COUNT_CHART / "ci").glob("*.yaml"))
)
def test_every_chart_scenario_renders_a_template_run_local_accepts(scenario):
    # A chart change that adds a field run-local does not implement fails here, by name.
    job = render_job(LOG_COUNT_CHART, user_values([LOG_COUNT_CHART / "ci" / scenario]))
    check_workflow_template(job.template)
    assert {"numParts", "partSize", "input", "keywords", "match"} <= {
        parameter["name"] for parameter in job.template["spec"]["arguments"]["parameters"]
    }


SLEEPER_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: sleeper\nversion: 0.1.0\n",
    "templates/workflowtemplate.yaml": """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: sleeper
spec:
  entrypoint: main
  volumes:
    - name: data
      persistentVolumeClaim:
        claimName: sleeper-data
  templates:
    - name: main
      dag:
        tasks:
          - name: sleep
            template: sleep
    - name: sleep
      container:
        image: python:3.12-slim
        command: [python, -c]
        args:
          - "import os, time; open('/data/pid', 'w').write(str(os.getpid())); time.sleep(60)"
        volumeMounts:
          - name: data
            mountPath: /data
""",
}


@pytest.mark.parametrize(("sent", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_running_tasks(tmp_path, sent, exit_code):
    chart = tmp_path / "chart"
    for name, text in SLEEPER_CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    volume = tmp_path / "volume"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workflows",
            "run-local",
            "--chart",
            str(chart),
            "--volume-dir",
            str(volume),
        ],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_file = volume / "pid"
    deadline = time.monotonic() + 60
    while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    task_pid = int(pid_file.read_text())
    run.send_signal(sent)
    _, err = run.communicate(timeout=30)
    assert run.returncode == exit_code, err
    assert "interrupted; running tasks were stopped" in err
    with pytest.raises(ProcessLookupError):
        os.kill(task_pid, 0)
