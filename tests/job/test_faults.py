"""Fault tests: merge names every bad part and writes nothing; re-runs are byte-identical."""

from __future__ import annotations

import errno
import json
import os

import pytest

from tests.job.jobcode import count_file, logcount, merge, redigested, run_ok, run_step

DATA = b"".join(b"%d INFO line WARN\n" % number for number in range(40))


@pytest.fixture
def counted(tmp_path):
    """An input split into 4 shards, every shard counted; returns (input, workdir)."""
    source = tmp_path / "in.log"
    source.write_bytes(DATA)
    workdir = tmp_path / "work"
    ids = run_ok("split", "--input", str(source), "--workdir", str(workdir), "--parts", "4")
    for shard_id in ids:
        run_ok("count", "--workdir", str(workdir), "--part", shard_id)
    return source, workdir


def merge_fails(workdir, *names: str, code: int = logcount.EXIT_USAGE) -> str:
    """Run merge expecting `code` (default 2: no rerun of merge can fix the parts); check it
    names each part and wrote no result."""
    output = workdir / "result.json"
    done = run_step("merge", "--workdir", str(workdir), "--output", str(output))
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert not output.exists()
    for name in names:
        assert name in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def edit_count_file(workdir, shard_id: str, change) -> None:
    """A deliberate edit: the digest is recomputed, so merge's other checks must catch it."""
    path = count_file(workdir, shard_id)
    document = json.loads(path.read_text())
    change(document)
    path.write_bytes(redigested(document))


def test_all_parts_present_merges(counted):
    _, workdir = counted
    result = run_ok("merge", "--workdir", str(workdir), "--output", str(workdir / "result.json"))
    assert result["counts"] == {"INFO": 40, "WARN": 40, "ERROR": 0, "DEBUG": 0}
    assert result["lines"] == 40 and result["bytes"] == len(DATA)


def test_missing_count_file(counted):
    _, workdir = counted
    (count_file(workdir, "2")).unlink()
    merge_fails(workdir, "part 2: missing")


@pytest.mark.parametrize("damage", [b"", b"{", b"[1, 2]", b'{"version": 1, "part": "1"'])
def test_corrupt_count_file(counted, damage):
    _, workdir = counted
    (count_file(workdir, "1")).write_bytes(damage)
    merge_fails(workdir, "part 1: ")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda doc: doc["counts"].update(INFO=-1), "corrupt: counts"),
        (lambda doc: doc["counts"].pop("WARN"), "corrupt: counts"),
        (lambda doc: doc.update(lines="7"), "corrupt: counts or lines"),
        (lambda doc: doc.update(bytes=doc["bytes"] + 1), "corrupt: bytes"),
        (lambda doc: doc.update(part="0"), "mismatched: it is for part '0'"),
        (lambda doc: doc["ranges"][0].__setitem__(1, 1), "mismatched: its byte ranges"),
        (lambda doc: doc.update(keywords=["INFO"]), "mismatched settings"),
        (lambda doc: doc.update(match="word"), "mismatched settings"),
        (lambda doc: doc["inputs"][0].update(mtime_ns=1), "stale"),
    ],
)
def test_altered_count_file(counted, change, reason):
    _, workdir = counted
    edit_count_file(workdir, "3", change)
    merge_fails(workdir, f"part 3: {reason}")


def test_a_directory_in_place_of_a_count_file_is_permanent(counted):
    _, workdir = counted
    path = count_file(workdir, "2")
    path.unlink()
    path.mkdir()
    merge_fails(workdir, f"part 2: not a count file: {path}: Is a directory")


def test_an_io_error_on_a_count_file_exits_1_so_the_merge_is_retried(counted, monkeypatch, capsys):
    # An I/O error (EIO, a timeout on a network volume) may pass on a retry; a missing or bad
    # part never does (exit 2, which the chart's retryStrategy does not retry).
    _, workdir = counted
    count_file(workdir, "1").unlink()
    broken = str(count_file(workdir, "2"))
    original = logcount.read_count_file

    def flaky(path):
        if path == broken:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return original(path)

    monkeypatch.setattr(logcount, "read_count_file", flaky)
    output = workdir / "result.json"
    code = logcount.run(merge.main, ["--workdir", str(workdir), "--output", str(output)])
    assert code == logcount.EXIT_VERIFICATION == 1
    stderr = capsys.readouterr().err
    assert f"part 2: cannot read {broken}: Input/output error" in stderr
    assert "part 1: missing" in stderr and not output.exists()


@pytest.mark.parametrize("unlistable", ["counts", "bucket"])
def test_count_files_are_opened_by_name_whatever_a_listing_says(
    counted, monkeypatch, capsys, unlistable
):
    # merge lists the count directories only for the caches it fills: a listing that fails, or
    # that this pod's client cached before another pod wrote a count file, hides nothing.
    _, workdir = counted
    count_file(workdir, "1").unlink()
    bucket = count_file(workdir, "2").parent
    refused = str(workdir / "counts") if unlistable == "counts" else str(bucket)
    original = os.scandir

    def scandir(path):
        if str(path) == refused:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return original(path)

    monkeypatch.setattr(logcount.os, "scandir", scandir)
    output = workdir / "result.json"
    code = logcount.run(merge.main, ["--workdir", str(workdir), "--output", str(output)])
    assert code == logcount.EXIT_USAGE and not output.exists()
    stderr = capsys.readouterr().err
    assert "part 1: missing" in stderr
    assert "part 0" not in stderr and "part 2" not in stderr and "part 3" not in stderr


def test_a_count_file_missing_from_a_stale_listing_is_still_read(counted, monkeypatch):
    # A listing this pod's client cached before another pod wrote count file 2 lacks it.
    _, workdir = counted
    hidden = count_file(workdir, "2").name
    original = os.scandir

    class Listing:
        def __init__(self, path):
            self.entries = [entry for entry in original(path) if entry.name != hidden]

        def __enter__(self):
            return iter(self.entries)

        def __exit__(self, *exc):
            return False

        def __iter__(self):
            return iter(self.entries)

    original_listdir = os.listdir
    monkeypatch.setattr(logcount.os, "scandir", Listing)
    monkeypatch.setattr(
        logcount.os, "listdir", lambda path: [n for n in original_listdir(path) if n != hidden]
    )
    output = workdir / "result.json"
    assert logcount.run(merge.main, ["--workdir", str(workdir), "--output", str(output)]) == 0
    assert json.loads(output.read_text())["coverage"]["shards"] == 1.0


def test_every_bad_part_is_named_at_once(counted):
    _, workdir = counted
    (count_file(workdir, "0")).unlink()
    (count_file(workdir, "1")).write_bytes(b"garbage")
    edit_count_file(workdir, "3", lambda doc: doc.update(match="word"))
    stderr = merge_fails(workdir, "part 0: missing", "part 1: corrupt", "part 3: mismatched")
    assert "part 2" not in stderr
    assert stderr.startswith("merge.py: 3 problem(s); no result written")


def test_counts_of_an_older_split_are_stale(counted):
    source, workdir = counted
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same bytes, new mtime
    run_ok("split", "--input", str(source), "--workdir", str(workdir), "--parts", "4")
    merge_fails(workdir, *(f"part {shard_id}: stale" for shard_id in "0123"))


def test_manifest_that_misses_bytes_is_refused(counted):
    _, workdir = counted
    manifest_path = workdir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["shards"].pop()
    manifest_path.write_text(json.dumps(manifest))
    merge_fails(workdir, "manifest: ", "are in no shard")


def test_manifest_with_overlapping_shards_is_refused(counted):
    _, workdir = counted
    manifest_path = workdir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["shards"][1]["ranges"][0][1] -= 3
    manifest_path.write_text(json.dumps(manifest))
    merge_fails(workdir, "manifest: overlap in", "part 1: mismatched")


def test_count_rerun_gives_the_identical_file(counted):
    _, workdir = counted
    path = count_file(workdir, "1")
    before = path.read_bytes()
    path.unlink()
    run_ok("count", "--workdir", str(workdir), "--part", "1", chunk_size=16)
    assert path.read_bytes() == before
    run_ok("count", "--workdir", str(workdir), "--part", "1")
    assert path.read_bytes() == before
    written = sorted(path.relative_to(workdir) for path in (workdir / "counts").rglob("*.json"))
    assert written == sorted(count_file(workdir, str(n)).relative_to(workdir) for n in range(4))


def test_split_twice_writes_the_same_manifest(counted):
    source, workdir = counted
    before = (workdir / "manifest.json").read_bytes()
    index = (workdir / "shards.idx").read_bytes()
    again = run_step("split", "--input", str(source), "--workdir", str(workdir), "--parts", "4")
    assert again.returncode == 0
    assert (workdir / "manifest.json").read_bytes() == before
    assert (workdir / "shards.idx").read_bytes() == index
    assert sorted(os.listdir(workdir)) == ["counts", "manifest.json", "shards.idx"]


def test_tiling_problems_are_named_input_by_input_in_byte_order():
    def item(path: str, size: int):
        return logcount.InputFile(path, logcount.Identity(size, 1, 1, 1, 1))

    manifest = logcount.Manifest(
        inputs=(item("/d/a.log", 100), item("/d/b.log", 50), item("/d/c.log", 10)),
        keywords=("INFO",),
        match="substring",
        # a.log: 0-40, a gap to 50, 50-80 overlapped by 70-90, then 90..100 in no shard;
        # b.log in no shard at all; c.log whole.
        shards={"0": ((0, 0, 40), (2, 0, 10)), "1": ((0, 70, 90),), "2": ((0, 50, 80),)},
        plan={},
    )
    assert merge.check_tiling(manifest) == [
        "gap in /d/a.log at byte 40 (shard 2)",
        "overlap in /d/a.log at byte 70 (shard 1)",
        "/d/a.log: bytes 90..100 are in no shard",
        "/d/b.log: bytes 0..50 are in no shard",
    ]
