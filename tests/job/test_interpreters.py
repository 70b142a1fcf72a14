"""The job on the other Pythons it claims (3.10, the floor) and ships on (3.12, the image).

The job is standard library only, so any interpreter on PATH runs it as is. Each one runs
generate → split → count → merge end to end on a small input, in both match modes, and the
result must equal the oracle's.
"""

from __future__ import annotations

import pytest

from tests.job.jobcode import find_interpreter, run_ok
from tests.support import oracle

INTERPRETERS = ("python3.10", "python3.12")


@pytest.fixture(params=INTERPRETERS)
def python(request):
    found = find_interpreter(request.param)
    if isinstance(found, str):
        pytest.skip(f"cannot test the job on {request.param}: {found}")
    return found


@pytest.mark.parametrize("match", ["substring", "word"])
def test_job_end_to_end_matches_the_oracle(tmp_path, python, match):
    inputs = tmp_path / "inputs"
    report = run_ok(
        "generate",
        "--output",
        str(inputs),
        "--size",
        "200KiB",
        "--seed",
        "11",
        "--files",
        "3",
        python=python,
    )
    workdir = tmp_path / "work"
    ids = run_ok(
        "split",
        "--input",
        str(inputs),
        "--workdir",
        str(workdir),
        "--parts",
        "4",
        "--match",
        match,
        python=python,
    )
    assert ids == ["0", "1", "2", "3"]
    for shard in ids:
        run_ok("count", "--workdir", str(workdir), "--part", shard, chunk_size=97, python=python)
    result = run_ok(
        "merge", "--workdir", str(workdir), "--output", str(workdir / "result.json"), python=python
    )
    expected = oracle.expected_result(inputs, report["keywords"], match)
    assert {key: result[key] for key in expected} == expected
    assert result["counts"] == report["counts"][match] and result["files"] == 3
