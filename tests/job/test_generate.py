"""generate.py: deterministic output whose reported counts match the oracle."""

from __future__ import annotations

import pytest

from tests.job.jobcode import logcount, run_ok, run_step
from tests.support import oracle


def check_against_oracle(path, report: dict) -> None:
    for match in logcount.MATCH_MODES:
        expected = oracle.expected_result(path, report["keywords"], match)
        assert report["counts"][match] == expected["counts"]
        assert (report["files"], report["bytes"], report["lines"]) == (
            expected["files"],
            expected["bytes"],
            expected["lines"],
        )


@pytest.mark.parametrize(
    "amount", [["--size", "300KiB"], ["--size", "1000"], ["--lines", "2500"], ["--lines", "1"]]
)
def test_single_file_counts_match_the_oracle(tmp_path, amount):
    path = tmp_path / "data" / "in.log"
    report = run_ok("generate", "--output", str(path), *amount, "--seed", "5")
    check_against_oracle(path, report)
    if amount[0] == "--size":
        assert path.stat().st_size == logcount.parse_size(amount[1], "--size")
    else:
        assert report["lines"] == int(amount[1])


def test_directory_of_files_without_final_newlines(tmp_path):
    report = run_ok(
        "generate",
        "--output",
        str(tmp_path / "logs"),
        "--lines",
        "1003",
        "--files",
        "4",
        "--no-final-newline",
        "--keywords",
        "INFO,ERROR,é",
    )
    files = sorted((tmp_path / "logs").iterdir())
    assert [file.name for file in files] == [f"log-{n:05}.log" for n in range(4)]
    assert all(not file.read_bytes().endswith(b"\n") for file in files)
    assert report["lines"] == 1003
    check_against_oracle(tmp_path / "logs", report)


def test_data_is_realistic_and_varied(tmp_path):
    path = tmp_path / "in.log"
    report = run_ok("generate", "--output", str(path), "--size", "2MiB", "--seed", "9")
    data = path.read_bytes()
    assert b"\r\n" in data and b"\xff" in data and "→".encode() in data
    assert max(len(line) for line in data.split(b"\n")) > 9000  # a long line
    for keyword in logcount.DEFAULT_KEYWORDS:
        assert report["counts"]["substring"][keyword] > report["counts"]["word"][keyword] > 0


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    outputs = {}
    for name, seed in (("a", "4"), ("b", "4"), ("c", "5")):
        run_ok("generate", "--output", str(tmp_path / name), "--size", "64KiB", "--seed", seed)
        outputs[name] = (tmp_path / name).read_bytes()
    assert outputs["a"] == outputs["b"] != outputs["c"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--size", "1XB"], "--size"),
        (["--lines", "0"], "--lines"),
        (["--size", "1KB", "--seed", "x"], "--seed"),
        (["--size", "1KB", "--files", "0"], "--files"),
        (["--size", "1KB", "--keywords", "A,A"], "--keywords"),
        (["--size", "1KB", "--lines", "3"], "--lines"),
    ],
)
def test_usage_errors(tmp_path, args, flag):
    done = run_step("generate", "--output", str(tmp_path / "x"), *args)
    assert done.returncode == 2
    assert flag in done.stderr and done.stderr.count("\n") == 1
