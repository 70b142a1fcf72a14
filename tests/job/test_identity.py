"""Inputs rewritten during a run never give a result: count and merge check each input's identity.

A rewrite in place keeps the inode; restoring size and mtime hides it from a size+mtime check,
but not from ctime, which every write and every os.utime moves forward and nothing can set back.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from tests.job.jobcode import count, count_file, logcount, merge, run_ok, run_step

DATA = b"".join(b"%d INFO line WARN\n" % number for number in range(40))
OTHER = DATA.replace(b"INFO", b"ERRO")  # the same size, other counts


def rewrite_in_place(path, data: bytes, recorded_ctime_ns: int) -> None:
    """Overwrite the file's bytes in place and put its mtime back, so only ctime tells.

    File times come from a coarse kernel clock: a write in the same tick as the recorded stat
    can leave ctime equal, so os.utime (which always sets ctime to now) is repeated until the
    clock has moved on — a condition on the file, not a timed wait.
    """
    before = os.stat(path)
    with open(path, "r+b") as handle:
        handle.write(data)
    for _ in range(10_000_000):
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        if os.stat(path).st_ctime_ns != recorded_ctime_ns:
            break
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    assert after.st_ctime_ns != recorded_ctime_ns


@pytest.fixture
def planned(tmp_path):
    """An input split into 2 shards; returns (input, workdir)."""
    source = tmp_path / "in.log"
    source.write_bytes(DATA)
    workdir = tmp_path / "work"
    run_ok("split", "--input", str(source), "--workdir", str(workdir), "--parts", "2")
    return source, workdir


def recorded_ctime(workdir) -> int:
    return json.loads((workdir / "manifest.json").read_text())["inputs"][0]["ctime_ns"]


def test_manifest_records_the_whole_identity(planned):
    source, workdir = planned
    recorded = json.loads((workdir / "manifest.json").read_text())["inputs"][0]
    info = source.stat()
    assert recorded == {
        "path": str(source),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "ctime_ns": info.st_ctime_ns,
        "dev": info.st_dev,
        "inode": info.st_ino,
    }


def test_rewrite_between_split_and_count_with_size_and_mtime_restored(planned):
    source, workdir = planned
    rewrite_in_place(source, OTHER, recorded_ctime(workdir))
    done = run_step("count", "--workdir", str(workdir), "--part", "0")
    assert done.returncode == 2, done.stderr
    assert f"input {source} changed since split" in done.stderr
    assert "ctime_ns" in done.stderr and done.stderr.count("\n") == 1
    assert not (count_file(workdir, "0")).exists()


def test_rewrite_in_place_while_a_count_reads(planned, monkeypatch):
    source, workdir = planned
    original = logcount.Matcher.count_range

    def rewritten_meanwhile(self, handle, start, end, chunk_size):
        # The file is open and its identity checked: now it changes under the reader.
        rewrite_in_place(source, OTHER, recorded_ctime(workdir))
        return original(self, handle, start, end, chunk_size)

    monkeypatch.setattr(logcount.Matcher, "count_range", rewritten_meanwhile)
    with pytest.raises(logcount.UsageError, match=f"input {source} changed while it was counted"):
        count.main(["--workdir", str(workdir), "--part", "0"])
    assert not list((workdir / "counts").rglob("*.json"))


def test_replaced_by_rename_while_a_count_reads(planned, monkeypatch):
    source, workdir = planned
    original = logcount.Matcher.count_range
    replacement = source.with_name("new.log")

    def replaced_meanwhile(self, handle, start, end, chunk_size):
        replacement.write_bytes(OTHER)
        os.replace(replacement, source)
        return original(self, handle, start, end, chunk_size)

    monkeypatch.setattr(logcount.Matcher, "count_range", replaced_meanwhile)
    with pytest.raises(logcount.UsageError, match=f"input {source} changed"):
        count.main(["--workdir", str(workdir), "--part", "1"])


def test_merge_rechecks_the_inputs_before_writing(planned):
    source, workdir = planned
    for shard_id in ("0", "1"):
        run_ok("count", "--workdir", str(workdir), "--part", shard_id)
    rewrite_in_place(source, OTHER, recorded_ctime(workdir))
    output = workdir / "result.json"
    done = run_step("merge", "--workdir", str(workdir), "--output", str(output))
    assert done.returncode == 2, done.stderr
    assert f"input {source} changed since split" in done.stderr
    assert not output.exists() and done.stdout == ""


def test_count_file_with_a_damaged_count_is_corrupt(planned):
    _, workdir = planned
    for shard_id in ("0", "1"):
        run_ok("count", "--workdir", str(workdir), "--part", shard_id)
    path = count_file(workdir, "1")
    document = json.loads(path.read_text())
    document["counts"]["INFO"] += 1  # still a valid count: only the digest tells
    path.write_text(json.dumps(document))
    done = run_step("merge", "--workdir", str(workdir), "--output", str(workdir / "r.json"))
    assert done.returncode == 2, done.stderr
    assert "part 1: corrupt: its digest does not match its content" in done.stderr


def test_count_file_carries_the_digest_of_its_body(planned):
    _, workdir = planned
    run_ok("count", "--workdir", str(workdir), "--part", "0")
    data = count_file(workdir, "0").read_bytes()
    document = json.loads(data)
    # The digest is the last field, the sha256 of the body's bytes as written (the JSON before
    # it, closed): merge hashes what it read, and any changed byte shows.
    body, _, tail = data.rpartition(b',"digest":"sha256:')
    assert tail == document["digest"].removeprefix("sha256:").encode() + b'"}\n'
    assert document["digest"] == "sha256:" + hashlib.sha256(body + b"}").hexdigest()
    assert json.loads(body + b"}") == {k: v for k, v in document.items() if k != "digest"}
    assert logcount.parse_count_file(data) == (document, True)
    manifest = logcount.load_manifest(str(workdir))
    assert merge.check_part(manifest, "0", document, True) is None
    # One changed digit of `lines` (still JSON, still a count) and one of the digest itself.
    for position in (data.index(b'"lines":') + 8, len(data) - 5):
        changed = bytearray(data)
        changed[position] ^= 0x01  # "0" <-> "1", "a" <-> "`": a digit stays a digit or breaks
        document_changed, intact = logcount.parse_count_file(bytes(changed))
        assert intact is False and isinstance(document_changed, dict)


def test_inode_counts_only_on_the_same_device():
    # Another pod's mount of a shared volume may number devices and inodes its own way.
    recorded = logcount.Identity(size=10, mtime_ns=5, ctime_ns=6, dev=1, inode=100)
    other_mount = logcount.Identity(size=10, mtime_ns=5, ctime_ns=6, dev=2, inode=777)
    assert recorded.differences(other_mount) == []
    replaced = logcount.Identity(size=10, mtime_ns=5, ctime_ns=6, dev=1, inode=777)
    assert recorded.differences(replaced) == ["inode 100 -> 777"]
    rewritten = logcount.Identity(size=10, mtime_ns=5, ctime_ns=9, dev=2, inode=777)
    assert recorded.differences(rewritten) == ["ctime_ns 6 -> 9"]
