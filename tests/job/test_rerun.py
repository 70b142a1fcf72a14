"""Reruns recount only what failed; count reads only its own shard's plan."""

from __future__ import annotations

import json
import os

import pytest

from tests.job.jobcode import count, count_file, logcount, merge, redigested, run_ok, run_step

SHARDS = 300


def count_in_process(workdir, shard_id: str, capsys) -> dict:
    count.main(["--workdir", str(workdir), "--part", shard_id])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert (summary["reused"] is True) == ("already counted" in err), err
    return summary


@pytest.fixture
def many(tmp_path, monkeypatch):
    """SHARDS shards over a directory of 120 files, not counted yet; returns (input, workdir)."""
    root = tmp_path / "logs"
    root.mkdir()
    for number in range(120):
        lines = b"".join(b"%d INFO %d WARN\n" % (number, line) for line in range(number % 7 + 3))
        (root / f"{number:03d}.log").write_bytes(lines)
    workdir = tmp_path / "work"
    ids = run_ok("split", "--input", str(root), "--workdir", str(workdir), "--parts", str(SHARDS))
    assert len(ids) == SHARDS
    # Counted in-process (300 interpreter start-ups would dominate); fsync is no part of the test.
    monkeypatch.setattr(logcount.os, "fsync", lambda descriptor: None)
    return root, workdir


def test_deleting_3_of_300_count_files_recounts_exactly_those_3(many, capsys, monkeypatch):
    _, workdir = many
    ids = [str(number) for number in range(SHARDS)]
    for shard_id in ids:
        assert count_in_process(workdir, shard_id, capsys)["reused"] is False
    clean = run_ok("merge", "--workdir", str(workdir), "--output", str(workdir / "clean.json"))
    deleted = {"7", "150", "299"}
    for shard_id in deleted:
        count_file(workdir, shard_id).unlink()
    kept = {
        path: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in (workdir / logcount.COUNTS_DIR).rglob("*.json")
    }
    assert len(kept) == SHARDS - len(deleted)

    counted = []
    original = logcount.count_ranges

    def recording(inputs, ranges, matcher, chunk_size=logcount.DEFAULT_CHUNK_SIZE):
        counted.append(ranges)
        return original(inputs, ranges, matcher, chunk_size)

    monkeypatch.setattr(logcount, "count_ranges", recording)
    recounted = {
        shard_id for shard_id in ids if not count_in_process(workdir, shard_id, capsys)["reused"]
    }
    assert recounted == deleted
    assert len(counted) == 3  # the 297 others read no data at all
    for path, identity in kept.items():
        assert (os.stat(path).st_ino, os.stat(path).st_mtime_ns) == identity  # left as they were
    rerun = run_ok("merge", "--workdir", str(workdir), "--output", str(workdir / "rerun.json"))
    assert rerun == clean


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda doc: doc["counts"].update(INFO=doc["counts"]["INFO"] + 1), "digest does not match"),
        (lambda doc: redigested({**doc, "job": "sha256:older"}), "job version"),
        (lambda doc: redigested({**doc, "match": "word"}), "mismatched settings"),
        (
            lambda doc: redigested(
                {**doc, "inputs": [{**doc["inputs"][0], "mtime_ns": 1}, *doc["inputs"][1:]]}
            ),
            "stale: it counted inputs",
        ),
    ],
)
def test_a_count_file_that_does_not_verify_is_recounted(many, capsys, damage, reason):
    _, workdir = many
    count_in_process(workdir, "5", capsys)
    path = count_file(workdir, "5")
    good = path.read_bytes()
    document = json.loads(good)
    changed = damage(document)
    path.write_bytes(json.dumps(document).encode() if changed is None else changed)
    count.main(["--workdir", str(workdir), "--part", "5"])
    out, err = capsys.readouterr()
    assert json.loads(out)["reused"] is False
    assert reason in err and "recounting" in err
    assert path.read_bytes() == good


def test_a_corrupt_count_file_is_recounted(many, capsys):
    _, workdir = many
    count_in_process(workdir, "9", capsys)
    path = count_file(workdir, "9")
    good = path.read_bytes()
    path.write_bytes(good[:20])
    assert count_in_process(workdir, "9", capsys)["reused"] is False
    assert path.read_bytes() == good


def test_a_reused_count_says_so_on_both_streams(many):
    _, workdir = many
    first = run_step("count", "--workdir", str(workdir), "--part", "3")
    again = run_step("count", "--workdir", str(workdir), "--part", "3")
    assert first.returncode == again.returncode == 0
    assert json.loads(first.stdout)["reused"] is False and "already counted" not in first.stderr
    assert json.loads(again.stdout) == {**json.loads(first.stdout), "reused": True}
    assert "part 3 already counted" in again.stderr and "no data read" in again.stderr


def test_an_input_changed_after_its_count_still_fails_merge(many, capsys):
    source, workdir = many
    for shard_id in range(SHARDS):
        count_in_process(workdir, str(shard_id), capsys)
    victim = source / "042.log"
    victim.write_bytes(victim.read_bytes() + b"INFO\n")
    # The count of its shard is reused (the plan and the count file still agree) ...
    done = run_step("merge", "--workdir", str(workdir), "--output", str(workdir / "r.json"))
    # ... but merge checks every input before it writes anything.
    assert done.returncode == 2 and f"input {victim} changed since split" in done.stderr
    assert not (workdir / "r.json").exists()


def test_count_reads_only_its_own_plan(many, monkeypatch):
    """A count reads a few small pieces of shards.idx and never the manifest."""
    _, workdir = many
    opened, reads = [], []
    real_open, real_pread = os.open, os.pread

    def tracking_open(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    def tracking_pread(descriptor, length, offset):
        data = real_pread(descriptor, length, offset)
        reads.append(len(data))
        return data

    monkeypatch.setattr(logcount.os, "open", tracking_open)
    monkeypatch.setattr(logcount.os, "pread", tracking_pread)
    monkeypatch.setattr(
        logcount, "load_manifest", lambda *args: pytest.fail("count loaded the manifest")
    )
    plan = logcount.load_shard_plan(str(workdir), "123")
    assert opened == [str(workdir / "shards.idx")]
    assert len(reads) <= 3 and sum(reads) <= 64 * 1024
    assert logcount.load_manifest.__name__ == "<lambda>"
    monkeypatch.undo()
    manifest = logcount.load_manifest(str(workdir))
    assert plan == logcount.shard_plan(manifest, "123")
    # Every shard's plan in the index is the manifest's.
    for shard_id in manifest.shards:
        assert logcount.load_shard_plan(str(workdir), shard_id) == logcount.shard_plan(
            manifest, shard_id
        )


def test_long_keywords_push_the_index_header_past_the_first_read(tmp_path):
    source = tmp_path / "in.log"
    source.write_bytes(b"x" * 3000 + b"\n" + b"y\n" * 10)
    keywords = ",".join(["K" * 2000, "L" * 3000, "x"])
    workdir = tmp_path / "w"
    run_ok(
        "split",
        "--input",
        str(source),
        "--workdir",
        str(workdir),
        "--parts=2",
        "--keywords",
        keywords,
    )
    plan = logcount.load_shard_plan(str(workdir), "1")
    assert plan.keywords == tuple(keywords.split(","))
    assert plan == logcount.shard_plan(logcount.load_manifest(str(workdir)), "1")


def test_merge_check_part_and_count_agree(many, capsys):
    _, workdir = many
    count_in_process(workdir, "0", capsys)
    document, intact = logcount.read_count_file(str(count_file(workdir, "0")))
    assert document["job"] == logcount.job_version()
    assert merge.check_part(logcount.load_manifest(str(workdir)), "0", document, intact) is None
