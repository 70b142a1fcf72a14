"""merge --min-success-ratio: strict by default, partial results below 1 say exactly what lacks."""

from __future__ import annotations

import json

import pytest

from tests.job.jobcode import count_file, logcount, run_ok, run_step

# Five files of 30 lines; 10 shards of 15 lines, so each file is two shards.
FILES = {
    f"{name}.log": b"".join(b"%s %02d INFO x\n" % (name.encode(), line) for line in range(30))
    for name in "abcde"
}


@pytest.fixture
def counted(tmp_path):
    root = tmp_path / "logs"
    root.mkdir()
    for name, data in FILES.items():
        (root / name).write_bytes(data)
    workdir = tmp_path / "work"
    ids = run_ok("split", "--input", str(root), "--workdir", str(workdir), "--parts", "10")
    assert len(ids) == 10
    for shard_id in ids:
        run_ok("count", "--workdir", str(workdir), "--part", shard_id)
    return root, workdir


def run_merge(workdir, *flags):
    output = workdir / "result.json"
    done = run_step("merge", "--workdir", str(workdir), "--output", str(output), *flags)
    return done, output


def test_full_run_has_full_coverage_whatever_the_ratio(counted):
    _, workdir = counted
    for flags in ((), ("--min-success-ratio=0.5",), ("--min-success-ratio=1",)):
        done, output = run_merge(workdir, *flags)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["coverage"] == {
            "shards": 1.0,
            "bytes": 1.0,
            "shards_counted": 10,
            "shards_total": 10,
            "bytes_counted": sum(map(len, FILES.values())),
            "bytes_total": sum(map(len, FILES.values())),
        }
        assert result["missing"] == {"shards": [], "ranges": [], "files": []}
        assert json.loads(output.read_text()) == result
        assert "PARTIAL" not in done.stderr


def test_default_ratio_fails_at_once_when_a_part_is_missing(counted):
    _, workdir = counted
    (count_file(workdir, "3")).unlink()
    for flags in ((), ("--min-success-ratio", "1"), ("--min-success-ratio", "1.0")):
        done, output = run_merge(workdir, *flags)
        assert done.returncode == 2  # permanent: the chart's retryStrategy does not retry it
        assert done.stdout == "" and not output.exists()
        assert done.stderr == (
            "merge.py: 1 problem(s); no result written:\n"
            f"part 3: missing {count_file(workdir, '3')}\n"
        )


def test_below_one_merges_what_exists_and_names_exactly_what_lacks(counted):
    root, workdir = counted
    manifest = logcount.load_manifest(str(workdir))
    (count_file(workdir, "3")).unlink()
    (count_file(workdir, "8")).write_text("{broken")
    done, output = run_merge(workdir, "--min-success-ratio=0.8")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert json.loads(output.read_text()) == result
    lost = {"3", "8"}
    lost_ranges = [(i, s, e) for shard in sorted(lost) for i, s, e in manifest.shards[shard]]
    lost_bytes = sum(end - start for _, start, end in lost_ranges)
    total = sum(map(len, FILES.values()))
    assert result["coverage"] == {
        "shards": 0.8,
        "bytes": (total - lost_bytes) / total,
        "shards_counted": 8,
        "shards_total": 10,
        "bytes_counted": total - lost_bytes,
        "bytes_total": total,
    }
    assert result["bytes"] == total - lost_bytes
    assert [item["id"] for item in result["missing"]["shards"]] == ["3", "8"]
    assert "missing" in result["missing"]["shards"][0]["reason"]
    assert "corrupt" in result["missing"]["shards"][1]["reason"]
    assert result["missing"]["ranges"] == [
        {"shard": shard, "path": manifest.inputs[i].path, "start": s, "end": e}
        for shard in ("3", "8")
        for i, s, e in manifest.shards[shard]
    ]
    assert result["missing"]["files"] == sorted(
        {manifest.inputs[i].path for i, _, _ in lost_ranges}
    )
    # The counts are exactly those of the bytes that were counted.
    kept = b"".join(
        FILES[manifest.inputs[i].path.rsplit("/", 1)[1]][s:e]
        for shard in manifest.shards
        if shard not in lost
        for i, s, e in manifest.shards[shard]
    )
    assert result["counts"]["INFO"] == kept.count(b"INFO")
    assert result["lines"] == kept.count(b"\n")
    assert "PARTIAL result: 8 of 10 shards" in done.stderr and "part 3: missing" in done.stderr
    assert str(root) in result["missing"]["files"][0]


def test_below_the_ratio_fails_and_writes_nothing(counted):
    _, workdir = counted
    for shard_id in ("1", "2", "3"):
        (count_file(workdir, shard_id)).unlink()
    done, output = run_merge(workdir, "--min-success-ratio=0.75")
    assert done.returncode == 2  # permanent: ends the run at once rather than after retries
    assert done.stdout == "" and not output.exists()
    assert "part 1: missing" in done.stderr and "part 3: missing" in done.stderr
    assert "7 of 10 shards (0.7) is below --min-success-ratio 0.75" in done.stderr
    # At exactly the ratio it succeeds.
    done, output = run_merge(workdir, "--min-success-ratio=0.7")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["coverage"]["shards_counted"] == 7


def test_a_broken_manifest_fails_whatever_the_ratio(counted):
    _, workdir = counted
    path = workdir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["shards"].pop()
    path.write_text(json.dumps(manifest))
    done, output = run_merge(workdir, "--min-success-ratio=0.1")
    assert done.returncode == 2 and not output.exists()
    assert "manifest: " in done.stderr and "are in no shard" in done.stderr


def test_ratio_parameter_is_checked_like_the_flag():
    logcount.check_parameter("minSuccessRatio", "0.9")
    with pytest.raises(logcount.UsageError, match=r"minSuccessRatio \(--min-success-ratio\)"):
        logcount.check_parameter("minSuccessRatio", "0")
    assert logcount.parse_ratio("1", "--min-success-ratio") == 1.0
    assert logcount.parse_ratio(".25", "--min-success-ratio") == 0.25
