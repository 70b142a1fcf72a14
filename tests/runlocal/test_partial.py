"""minSuccessRatio under run-local: merge runs after a failed count, gets the ratio, decides.

The chart's reduce task depends on the map's outcome (`map.Succeeded || map.Skipped ||
map.Failed || map.Errored`); run-local evaluates that `depends` as Argo does, and the workflow's
phase is then merge's (the DAG's only target). Here an interpreter wrapper fails one count for
good and stands in for merge.py, recording its arguments and exiting as told, so these tests pin
the template's contract whatever merge.py does with the ratio.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.runlocal.test_chart import generate
from tests.runlocal.test_resume import failing_python
from workflows.chart import LOG_COUNT_CHART
from workflows.runlocal.local import render_job, run_local
from workflows.runlocal.progress import Reporter

NO_RETRY = {"workflow": {"retry": {"limit": 0}}}


def wrapper(tmp_path: Path, failing_part: str | None, merge_exit: int | None) -> tuple[Path, Path]:
    """An interpreter that fails count.py for one part and, unless `merge_exit` is None,
    replaces merge.py with a recorder exiting with it."""
    record = tmp_path / "merge-argv.json"
    path = tmp_path / "python"
    path.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, os, sys
            args = sys.argv[1:]
            if args[0].endswith("/count.py") and "--part={failing_part}" in args:
                sys.exit(1)
            if {merge_exit is not None} and args[0].endswith("/merge.py"):
                with open({str(record)!r}, "w") as handle:
                    json.dump(args[1:], handle)
                output = next(a.split("=", 1)[1] for a in args if a.startswith("--output="))
                with open(output, "w") as handle:
                    json.dump({{"coverage": "as merge decides"}}, handle)
                sys.exit({merge_exit})
            os.execv({sys.executable!r}, [{sys.executable!r}, *args])
            """
        )
    )
    path.chmod(0o755)
    return path, record


def run(tmp_path: Path, python: Path, parameters: dict[str, str]):
    source = generate(tmp_path / "in" / "app.log", "--size", "100KiB", "--seed", "8")
    return run_local(
        render_job(LOG_COUNT_CHART, NO_RETRY),
        parameters={"numParts": "5", **parameters},
        input_path=None if "input" in parameters else source,
        volume_dir=tmp_path / "volume",
        jobs=2,
        reporter=Reporter(io.StringIO()),
        python=str(python),
    ).result


@pytest.mark.parametrize(("merge_exit", "phase"), [(0, "Succeeded"), (1, "Failed")])
def test_merge_runs_after_a_failed_count_and_its_exit_decides_the_run(tmp_path, merge_exit, phase):
    python, record = wrapper(tmp_path, failing_part="2", merge_exit=merge_exit)
    result = run(tmp_path, python, {"minSuccessRatio": "0.8"})
    assert result.tasks["map"].phase.value == "Failed"
    assert result.tasks["reduce"].phase.value == phase
    assert result.phase.value == phase
    arguments = json.loads(record.read_text())
    assert "--min-success-ratio=0.8" in arguments
    assert [node.name for node in result.failed] == (
        ["map(2:2)"] if merge_exit == 0 else ["map(2:2)", "reduce"]
    )
    if merge_exit == 0:
        assert json.loads(result.outputs["result"]) == {"coverage": "as merge decides"}


def test_the_default_ratio_is_passed_as_1(tmp_path):
    python, record = wrapper(tmp_path, failing_part=None, merge_exit=0)
    result = run(tmp_path, python, {})
    assert result.phase.value == "Succeeded"
    assert "--min-success-ratio=1" in json.loads(record.read_text())


def test_merge_does_not_run_when_split_failed(tmp_path):
    python, record = wrapper(tmp_path, failing_part=None, merge_exit=0)
    result = run(tmp_path, python, {"input": "missing.log", "minSuccessRatio": "0.5"})
    assert result.phase.value == "Failed"
    assert result.tasks["map"].phase.value == "Omitted"
    assert result.tasks["reduce"].phase.value == "Omitted"
    assert not record.exists()


def test_with_ratio_1_the_real_merge_fails_the_run_on_a_missing_shard(tmp_path):
    # Needs merge.py's --min-success-ratio (issue 16's job side): it exits non-zero when a
    # shard is missing and the ratio is 1.
    python, _ = wrapper(tmp_path, failing_part="2", merge_exit=None)
    result = run(tmp_path, python, {})
    assert result.phase.value == "Failed"
    assert [node.name for node in result.failed] == ["map(2:2)", "reduce"]
    assert result.outputs == {}


def test_merge_below_the_ratio_fails_the_run_at_once_not_after_its_retries(tmp_path):
    # merge.py exits 2 (permanent) when shards are missing below the ratio; the chart's
    # retryStrategy (noRetryExitCodes: [2]) does not retry that, so with retries on, reduce is
    # attempted once. The count fails with exit 2 too, so nothing waits for a backoff.
    python = failing_python(tmp_path, "2", code=2)
    source = generate(tmp_path / "in" / "app.log", "--size", "100KiB", "--seed", "8")
    result = run_local(
        render_job(LOG_COUNT_CHART, {"workflow": {"retry": {"limit": 3}}}),
        parameters={"numParts": "5", "minSuccessRatio": "0.9"},
        input_path=source,
        volume_dir=tmp_path / "volume",
        jobs=2,
        reporter=Reporter(io.StringIO()),
        python=str(python),
    ).result
    assert result.phase.value == "Failed"
    (reduce,) = [node for node in result.failed if node.name == "reduce"]
    assert (reduce.exit_code, reduce.attempt) == (2, 0)  # the first attempt, not retried
    assert "4 of 5 shards (0.8) is below --min-success-ratio 0.9" in "\n".join(reduce.stderr_tail)
