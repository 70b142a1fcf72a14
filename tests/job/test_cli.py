"""The three steps as scripts: end-to-end results against the oracle, edge cases, usage errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.job.jobcode import JOB_DIR, count, count_file, logcount, run_job, run_ok, run_step
from tests.support import oracle, unprivileged

KEYWORDS = list(logcount.DEFAULT_KEYWORDS)
TRICKY = (
    b"2026-11-21T05:00:00Z INFO start INFORMATION\r\n"
    b"WARN\xff\xfe caf\xe9 _ERROR ERROR-1 DEBUGGER\n"
    b"\n" + b"INFO " * 300 + b"\nlast line DEBUG without newline"
)


def expected(input_path: Path, match: str = "substring", keywords=KEYWORDS) -> dict:
    return oracle.expected_result(input_path, keywords, match)


FULL_COVERAGE_KEYS = ("shards", "coverage", "missing")


def without_shards(result: dict) -> dict:
    """The result without the fields that depend on sharding, after checking it is complete."""
    assert result["coverage"]["shards"] == result["coverage"]["bytes"] == 1.0
    assert result["missing"] == {"shards": [], "ranges": [], "files": []}
    return {key: value for key, value in result.items() if key not in FULL_COVERAGE_KEYS}


@pytest.mark.parametrize("match", logcount.MATCH_MODES)
@pytest.mark.parametrize("chunk_size", [None, 5, 64])
def test_tricky_file_in_both_modes_and_chunk_sizes(tmp_path, match, chunk_size):
    source = tmp_path / "in.log"
    source.write_bytes(TRICKY)
    ids, result = run_job(
        source, tmp_path / "work", "--parts", "3", "--match", match, chunk_size=chunk_size
    )
    assert ids == ["0", "1", "2"]
    assert result["shards"] == 3
    assert without_shards(result) == expected(source, match)
    assert json.loads((tmp_path / "work" / "result.json").read_text()) == result


def test_directory_of_files_spans_shards_across_files(tmp_path):
    root = tmp_path / "logs"
    files = {
        "a/1.log": b"INFO one\nWARN two\n",
        "a/2.log": b"",
        "b.log": b"ERROR no newline",
        "c/d/e.log": b"DEBUG\r\nINFO INFO\n" * 20,
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    ids, result = run_job(root, tmp_path / "work", "--parts", "7", chunk_size=8)
    assert len(ids) == 7
    assert without_shards(result) == expected(root)
    assert result["files"] == 4
    manifest = json.loads((tmp_path / "work" / "manifest.json").read_text())
    assert [Path(item["path"]).relative_to(root).as_posix() for item in manifest["inputs"]] == [
        "a/1.log",
        "a/2.log",
        "b.log",
        "c/d/e.log",
    ]


def test_directory_skips_pipes_and_dangling_links(tmp_path):
    root = tmp_path / "logs"
    root.mkdir()
    (root / "a.log").write_bytes(b"INFO\n")
    os.mkfifo(root / "pipe")
    (root / "gone.log").symlink_to(tmp_path / "missing")
    (root / "link.log").symlink_to(root / "a.log")
    _, result = run_job(root, tmp_path / "work", "--parts", "2")
    assert without_shards(result) == expected(root)
    assert result["files"] == 2 and result["counts"]["INFO"] == 2


def test_more_parts_than_lines_gives_one_shard_per_line(tmp_path):
    source = tmp_path / "in.log"
    source.write_bytes(b"INFO\nWARN a much longer line than the others ERROR\nx\nDEBUG")
    ids, result = run_job(source, tmp_path / "work", "--parts", "50")
    assert ids == ["0", "1", "2", "3"]
    assert without_shards(result) == expected(source)


@pytest.mark.parametrize("make_input", ["empty file", "empty directory"])
def test_empty_input_still_has_one_shard(tmp_path, make_input):
    source = tmp_path / "in"
    if make_input == "empty file":
        source.write_bytes(b"")
    else:
        source.mkdir()
    ids, result = run_job(source, tmp_path / "work", "--parts", "5")
    assert ids == ["0"]
    assert without_shards(result) == {
        "counts": dict.fromkeys(KEYWORDS, 0),
        "keywords": KEYWORDS,
        "match": "substring",
        "files": int(make_input == "empty file"),
        "bytes": 0,
        "lines": 0,
    }


def test_reference_breaking_case_10000_lines_3000_parts(tmp_path, monkeypatch):
    """The reference job wrote 2,500 part files here and 500 map tasks failed."""
    source = tmp_path / "in.log"
    generated = run_ok(
        "generate.py"[:-3], "--output", str(source), "--lines", "10000", "--seed", "3"
    )
    workdir = tmp_path / "work"
    ids = run_ok("split", "--input", str(source), "--workdir", str(workdir), "--parts", "3000")
    assert ids == [str(number) for number in range(3000)]
    manifest = logcount.load_manifest(str(workdir))
    # Count in-process: 3000 interpreter start-ups (and fsyncs) would dominate the suite's time.
    monkeypatch.setattr(logcount.os, "fsync", lambda descriptor: None)
    for shard_id in ids:
        document = count.count_shard(manifest, shard_id, logcount.DEFAULT_CHUNK_SIZE)
        path = logcount.counts_path(str(workdir), shard_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        logcount.write_bytes_atomic(path, logcount.count_file_bytes(document))
    result = run_ok("merge", "--workdir", str(workdir), "--output", str(workdir / "result.json"))
    assert without_shards(result) == expected(source)
    assert result["lines"] == generated["lines"] == 10000
    assert result["counts"] == generated["counts"]["substring"]


def test_ten_thousand_ids_stay_far_below_argo_result_limit(tmp_path):
    source = tmp_path / "in.log"
    source.write_bytes(b"INFO line\n" * 12000)
    done = run_step(
        "split", "--input", str(source), "--workdir", str(tmp_path / "w"), "--parts", "10000"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [str(number) for number in range(10000)]
    assert done.stdout.count("\n") == 1
    assert len(done.stdout.encode()) < 100_000  # Argo keeps at most 256 kB of stdout


def test_part_size_sets_the_width_and_wins_over_parts(tmp_path):
    source = tmp_path / "in.log"
    source.write_bytes(b"0123456789abcdef\n" * 1000)  # 17,000 bytes
    workdir = str(tmp_path / "w")
    by_size = run_ok(
        "split", "--input", str(source), "--workdir", workdir, "--parts=3", "--part-size=2KB"
    )
    assert len(by_size) == 9  # ceil(17000 / 2000)
    by_parts = run_ok(
        "split", "--input", str(source), "--workdir", workdir, "--parts=3", "--part-size="
    )
    assert len(by_parts) == 3
    capped = run_step(
        "split", "--input", str(source), "--workdir", workdir, "--part-size=100", "--max-parts=40"
    )
    assert capped.returncode == 0 and len(json.loads(capped.stdout)) == 40
    assert "capped at --max-parts 40" in capped.stderr


def test_keywords_are_taken_verbatim_with_a_note_about_spaces(tmp_path):
    source = tmp_path / "in.log"
    source.write_bytes(b"INFO WARN\nINFO,WARN\n")
    workdir = tmp_path / "w"
    done = run_step(
        "split",
        "--input",
        str(source),
        "--workdir",
        str(workdir),
        "--parts=1",
        "--keywords=INFO, WARN",
    )
    assert done.returncode == 0
    assert "note: keyword ' WARN' has surrounding spaces" in done.stderr
    run_ok("count", "--workdir", str(workdir), "--part", "0")
    result = run_ok("merge", "--workdir", str(workdir), "--output", str(workdir / "r.json"))
    assert result["counts"] == {"INFO": 2, " WARN": 1}


def test_split_runs_from_any_directory_with_relative_paths(tmp_path):
    (tmp_path / "in.log").write_bytes(b"INFO\n" * 10)
    ids = run_ok("split", "--input", "in.log", "--workdir", "w", "--parts", "2", cwd=tmp_path)
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["inputs"][0]["path"] == str(tmp_path / "in.log")
    for shard_id in ids:
        run_ok("count", "--workdir", str(tmp_path / "w"), "--part", shard_id, cwd=JOB_DIR.parent)
    assert (
        run_ok("merge", "--workdir", "w", "--output", "r.json", cwd=tmp_path)["counts"]["INFO"]
        == 10
    )


@pytest.fixture
def prepared(tmp_path):
    """An input and a workdir that split has run on."""
    source = tmp_path / "in.log"
    source.write_bytes(b"INFO a\nWARN b\n")
    workdir = tmp_path / "work"
    run_ok("split", "--input", str(source), "--workdir", str(workdir), "--parts", "2")
    return source, workdir


def usage_cases(source: Path, workdir: Path, tmp: Path):
    split = ["split", "--input", str(source), "--workdir", str(workdir)]
    return {
        "parts zero": ([*split, "--parts", "0"], "--parts"),
        "parts negative": ([*split, "--parts=-3"], "--parts"),
        "parts not integer": ([*split, "--parts", "2.5"], "--parts"),
        "parts above cap": ([*split, "--parts", "11", "--max-parts", "10"], "--parts"),
        "neither parts nor size": ([*split, "--parts=", "--part-size="], "--part-size"),
        "unknown size suffix": ([*split, "--part-size", "64XB"], "--part-size"),
        "zero size": ([*split, "--part-size", "0MiB"], "--part-size"),
        "missing input": (
            ["split", "--input", str(tmp / "nope"), "--workdir", str(workdir), "--parts", "1"],
            "--input",
        ),
        "unwritable workdir": (
            ["split", "--input", str(source), "--workdir", str(source / "sub"), "--parts", "1"],
            "--workdir",
        ),
        "empty keyword": ([*split, "--parts", "1", "--keywords", "INFO,,WARN"], "--keywords"),
        "duplicate keyword": ([*split, "--parts", "1", "--keywords", "INFO,INFO"], "--keywords"),
        "newline in keyword": ([*split, "--parts", "1", "--keywords", "IN\nFO"], "--keywords"),
        "unknown match": ([*split, "--parts", "1", "--match", "regex"], "--match"),
        "double dash as a value": ([*split, "--parts", "1", "--keywords=--"], "--keywords"),
        "max parts above the id list bound": (
            [*split, "--parts", "1", f"--max-parts={logcount.LARGEST_MAX_PARTS + 1}"],
            f"above the maximum {logcount.LARGEST_MAX_PARTS}",
        ),
        "workdir inside the input directory": (
            ["split", "--input", str(tmp), "--workdir", str(tmp / "runs" / "wf"), "--parts", "1"],
            f"--input {str(tmp)!r} contains --workdir",
        ),
        "missing workdir flag": (["split", "--input", str(source), "--parts", "1"], "--workdir"),
        "count without manifest": (
            ["count", "--workdir", str(tmp / "empty"), "--part", "0"],
            "run split.py first",
        ),
        "count unknown part": (["count", "--workdir", str(workdir), "--part", "7"], "--part"),
        "count part not an id": (["count", "--workdir", str(workdir), "--part", "01"], "--part"),
        **{
            f"merge ratio {value}": (
                [
                    "merge",
                    "--workdir",
                    str(workdir),
                    "--output",
                    str(tmp / "r.json"),
                    f"--min-success-ratio={value}",
                ],
                f"minSuccessRatio (--min-success-ratio): '{value}' is ",
            )
            for value in ("0", "-0.5", "1.01", "nan", "inf", "half", "")
        },
        "merge without manifest": (
            ["merge", "--workdir", str(tmp / "empty"), "--output", str(tmp / "r.json")],
            "run split.py first",
        ),
    }


CASES = list(usage_cases(Path("x"), Path("y"), Path("z")))


@pytest.mark.parametrize("case", CASES)
def test_usage_errors_exit_2_with_one_line(prepared, tmp_path, case):
    source, workdir = prepared
    (tmp_path / "empty").mkdir(exist_ok=True)
    (step, *args), needle = usage_cases(source, workdir, tmp_path)[case]
    done = run_step(step, *args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


def test_corrupt_manifest_is_a_usage_error(prepared):
    _, workdir = prepared
    manifest = workdir / "manifest.json"
    for damage in (b"{not json", b'{"version": 1}', b"[]"):
        manifest.write_bytes(damage)
        done = run_step("merge", "--workdir", str(workdir), "--output", "0")
        assert done.returncode == 2
        assert "corrupt manifest" in done.stderr and done.stderr.count("\n") == 1


def test_corrupt_shard_index_is_a_usage_error(prepared):
    _, workdir = prepared
    index = workdir / "shards.idx"
    good = index.read_bytes()
    damages = [
        b"{not json",
        b"",
        good[: logcount.INDEX_PREFIX + 5],  # cut inside the header
        good[:-3],  # the last record cut short
        good.replace(b'"version":3', b'"version":2'),
        good.replace(b'"part":"1"', b'"part":"0"'),
    ]
    for damage in damages:
        index.write_bytes(damage)
        done = run_step("count", "--workdir", str(workdir), "--part", "1")
        assert done.returncode == 2, (damage, done.stdout)
        assert "corrupt shard index" in done.stderr and done.stderr.count("\n") == 1


def test_count_refuses_an_input_changed_since_split(prepared):
    source, workdir = prepared
    source.write_bytes(b"INFO a\nWARN b\nmore\n")
    done = run_step("count", "--workdir", str(workdir), "--part", "0")
    assert done.returncode == 2
    assert f"input {source} changed since split" in done.stderr
    assert not (count_file(workdir, "0")).exists()


def test_unreadable_input_is_a_usage_error():
    command = unprivileged.python_command()
    with tempfile.TemporaryDirectory() as scratch:
        os.chmod(scratch, 0o777)
        source = Path(scratch) / "in.log"
        source.write_bytes(b"INFO\n")
        source.chmod(0)
        split = [str(JOB_DIR / "split.py"), "--input", str(source), "--workdir", f"{scratch}/w"]
        done = subprocess.run(
            [*command, *split, "--parts", "1"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
    assert done.returncode == 2 and "input (--input): cannot read" in done.stderr, done.stderr


def test_help_documents_the_parts_and_part_size_rule():
    done = run_step("split", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "a non-empty --part-size wins over --parts" in text
    assert "an empty value means 'not set'" in text


@pytest.mark.parametrize("parts", [0, 1, 9, 10, 11, 100, 1001, 12345])
def test_id_list_length_is_the_printed_length(parts):
    printed = json.dumps([str(number) for number in range(parts)], separators=(",", ":"))
    assert logcount.id_list_length(parts) == len(printed)


def test_largest_max_parts_is_the_last_count_whose_id_list_fits():
    largest = logcount.LARGEST_MAX_PARTS
    assert logcount.id_list_length(largest) <= logcount.ID_LIST_BOUND
    assert logcount.id_list_length(largest + 1) > logcount.ID_LIST_BOUND
    # The bound leaves margin under the 256 KiB Argo keeps of outputs.result.
    assert logcount.ID_LIST_BOUND < 256 * 1024
    assert largest >= logcount.DEFAULT_MAX_PARTS


def test_split_accepts_the_largest_max_parts(tmp_path):
    source = tmp_path / "in.log"
    source.write_bytes(b"INFO a\n")
    ids = run_ok(
        "split",
        "--input",
        str(source),
        "--workdir",
        str(tmp_path / "work"),
        "--parts",
        "1",
        f"--max-parts={logcount.LARGEST_MAX_PARTS}",
    )
    assert ids == ["0"]


def test_split_refuses_a_workdir_reached_through_a_link_into_the_input(tmp_path):
    inputs = tmp_path / "volume"
    (inputs / "runs").mkdir(parents=True)
    (inputs / "a.log").write_bytes(b"INFO\n")
    (tmp_path / "alias").symlink_to(inputs / "runs")
    done = run_step(
        "split", "--input", str(inputs), "--workdir", str(tmp_path / "alias" / "wf"), "--parts", "1"
    )
    assert done.returncode == 2
    assert "contains --workdir" in done.stderr and "separate directory" in done.stderr


def test_split_accepts_a_workdir_beside_the_input_directory(tmp_path):
    # A sibling whose name starts with the input's name is not inside it.
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.log").write_bytes(b"INFO\n")
    ids, result = run_job(tmp_path / "in", tmp_path / "in-work", "--parts", "1")
    assert ids == ["0"] and result["counts"]["INFO"] == 1


@pytest.mark.parametrize(
    ("flag", "value", "parameter"),
    [
        ("--parts", "abc", "numParts"),
        ("--part-size", "64XB", "partSize"),
        ("--keywords", "INFO,,WARN", "keywords"),
        ("--match", "regex", "match"),
    ],
)
def test_usage_errors_name_the_workflow_parameter(prepared, flag, value, parameter):
    source, workdir = prepared
    args = ["--input", str(source), "--workdir", str(workdir), "--parts", "1", f"{flag}={value}"]
    done = run_step("split", *args)
    assert done.returncode == 2
    assert f"split.py: error: {parameter} ({flag}): " in done.stderr, done.stderr
    assert repr(value) in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("numParts", "abc", "numParts (--parts): 'abc' is not an integer"),
        ("numParts", "0", "must be at least 1"),
        ("partSize", "1XB", "partSize (--part-size): invalid size"),
        ("keywords", "INFO,,WARN", "keywords (--keywords): empty keyword"),
        ("keywords", "INFO,INFO", "is given twice"),
        ("match", "regex", "use one of substring, word"),
        ("input", "../x", "leaves the volume"),
        ("input", "/etc/passwd", "is absolute"),
        ("input", "", "empty"),
    ],
)
def test_check_parameter_applies_split_s_parsers(name, value, problem):
    with pytest.raises(logcount.UsageError, match=re.escape(problem)):
        logcount.check_parameter(name, value)


def test_check_parameter_accepts_good_values_and_ignores_unknown_names():
    for name, value in [
        ("numParts", "8"),
        ("numParts", ""),
        ("partSize", "64MiB"),
        ("partSize", ""),
        ("keywords", "/data,/tmp"),
        ("match", "word"),
        ("input", "inputs/a/b.log"),
        ("input", "a/../b.log"),
        ("other", "{{anything"),
    ]:
        logcount.check_parameter(name, value)


def test_the_one_line_error_is_also_the_termination_message(prepared, tmp_path):
    # On a cluster the kubelet creates /dev/termination-log; its content becomes the message
    # of the step's node (without the executor's log lines that follow the job's in the log).
    source, workdir = prepared
    termination_log = tmp_path / "termination-log"
    termination_log.write_text("")
    env = {**os.environ, logcount.TERMINATION_LOG_ENV: str(termination_log)}
    done = subprocess.run(
        [
            sys.executable,
            str(JOB_DIR / "split.py"),
            f"--input={source}",
            f"--workdir={workdir}",
            "--parts=abc",
        ],
        capture_output=True,
        text=True,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert done.returncode == 2
    assert termination_log.read_text() == done.stderr.rstrip("\n")
    assert termination_log.read_text().startswith("split.py: error: numParts (--parts): 'abc'")


def test_no_termination_message_file_is_created(prepared, tmp_path):
    absent = tmp_path / "absent"
    env = {**os.environ, logcount.TERMINATION_LOG_ENV: str(absent), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, str(JOB_DIR / "count.py"), f"--workdir={prepared[1]}", "--part=9"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2 and not absent.exists()
