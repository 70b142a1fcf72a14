"""Property tests of the job's counting and planning against the independent oracle."""

from __future__ import annotations

import io
import itertools
import tempfile
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.job.jobcode import logcount, split
from tests.support import oracle

# Pieces that build the tricky cases: self-overlapping keywords ("aa"), word bytes and non-word
# bytes next to keywords, CRLF, non-UTF-8 and multi-byte UTF-8 bytes.
PIECES = [
    b"a",
    b"A",
    b"_",
    b"-",
    b" ",
    b"\n",
    b"\r\n",
    b"\xff",
    b"INFO",
    b"ERR",
    b"OR",
    b"\xc3\xa9",
]
KEYWORDS = ["a", "aa", "aaa", "A", "INFO", "ERROR", "R", "-a-", "a-a", "_", "é", "ORa", "--"]

data_bytes = st.lists(st.sampled_from(PIECES), max_size=120).map(b"".join)
keyword_lists = st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=4, unique=True)
match_modes = st.sampled_from(logcount.MATCH_MODES)
chunk_sizes = st.integers(min_value=1, max_value=48)


def line_starts(data: bytes) -> list[int]:
    return [0] + [index + 1 for index, byte in enumerate(data) if byte == ord("\n")]


@settings(max_examples=300, deadline=None)
@given(data_bytes, keyword_lists, match_modes, chunk_sizes)
def test_count_range_equals_whole_input_count(data, keywords, match, chunk_size):
    assume(data)
    matcher = logcount.Matcher(keywords, match)
    counts, newlines = matcher.count_range(io.BytesIO(data), 0, len(data), chunk_size)
    assert dict(zip(keywords, counts, strict=True)) == oracle.expected_counts(data, keywords, match)
    assert newlines == data.count(b"\n")


@settings(max_examples=200, deadline=None)
@given(data_bytes, keyword_lists, match_modes, chunk_sizes, st.randoms(use_true_random=False))
def test_ranges_cut_at_line_starts_add_up(data, keywords, match, chunk_size, rng):
    assume(data)
    starts = line_starts(data)
    cuts = sorted({0, len(data), *rng.sample(starts, rng.randint(0, len(starts)))})
    matcher = logcount.Matcher(keywords, match)
    totals = [0] * len(keywords)
    for start, end in itertools.pairwise(cuts):
        if start < end:
            counts, _ = matcher.count_range(io.BytesIO(data), start, end, chunk_size)
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
    assert dict(zip(keywords, totals, strict=True)) == oracle.expected_counts(data, keywords, match)


def test_every_chunk_edge_position_in_a_long_line():
    # Slide word-bounded and non-bounded matches across every chunk edge of a line longer than
    # the buffer, so a match whose next byte is still unread is never settled too early.
    text = b"INFO_ INFO INFOa -INFO- aINFO ERROR_ERROR ERROR"
    keywords = ["INFO", "ERROR"]
    for offset in range(40):
        data = b" " * offset + text + b" " * 30 + b"\nINFO"
        for match in logcount.MATCH_MODES:
            expected = oracle.expected_counts(data, keywords, match)
            for chunk_size in range(1, 30):
                counts, _ = logcount.Matcher(keywords, match).count_range(
                    io.BytesIO(data), 0, len(data), chunk_size
                )
                assert dict(zip(keywords, counts, strict=True)) == expected, (offset, chunk_size)


def test_long_line_scan_resumes_after_self_overlapping_match():
    # "aaaaa" holds two non-overlapping "aa"; a chunk edge inside a match must not add a third.
    data = b"x" + b"a" * 5 + b"\n" + b"a" * 101
    for chunk_size in range(1, 12):
        counts, _ = logcount.Matcher(["aa"], "substring").count_range(
            io.BytesIO(data), 0, len(data), chunk_size
        )
        assert counts == [2 + 50]


@settings(max_examples=120, deadline=None)
@given(
    st.lists(data_bytes, min_size=1, max_size=4),
    st.integers(min_value=1, max_value=25),
    keyword_lists,
    match_modes,
    chunk_sizes,
)
def test_planned_shards_are_exact(files, wanted, keywords, match, chunk_size):
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for number, data in enumerate(files):
            (root / f"f{number}.log").write_bytes(data)
        inputs = logcount.list_inputs(str(root))
        space = split.ByteSpace(inputs)
        try:
            bounds = split.plan_cuts(space, wanted)
        finally:
            space.close()
        lines = sum(oracle.count_lines(data) for data in files)
        shards = list(itertools.pairwise(bounds))
        assert len(shards) == max(1, min(wanted, lines))
        assert bounds[0] == 0 and bounds[-1] == space.total
        everything = b"".join(files)
        file_starts = set(space.starts)
        for start, end in shards:
            assert start < end or space.total == 0
            assert start in file_starts or everything[start - 1] == ord("\n")
        matcher = logcount.Matcher(keywords, match)
        totals = {"counts": dict.fromkeys(keywords, 0), "bytes": 0, "lines": 0}
        for start, end in shards:
            tally = logcount.count_ranges(inputs, space.ranges(start, end), matcher, chunk_size)
            totals["counts"] = {k: totals["counts"][k] + tally["counts"][k] for k in keywords}
            totals["bytes"] += tally["bytes"]
            totals["lines"] += tally["lines"]
        expected = oracle.expected_result(root, keywords, match)
        assert totals == {key: expected[key] for key in ("counts", "bytes", "lines")}


def test_inputs_are_listed_in_component_order(tmp_path):
    for name in ["b.log", "a-c.log", "a/b.log", "a/a/z.log", "c/empty.log"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x\n")
    listed = [
        Path(item.path).relative_to(tmp_path).as_posix()
        for item in logcount.list_inputs(str(tmp_path))
    ]
    assert listed == ["a/a/z.log", "a/b.log", "a-c.log", "b.log", "c/empty.log"]


SUFFIXES = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 1024,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "mib": 2**20,
    "kb": 1000,
}


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(sorted(SUFFIXES)))
def test_sizes_parse_with_every_suffix(number, suffix):
    assert logcount.parse_size(f"{number}{suffix}", "--part-size") == number * SUFFIXES[suffix]


def bytes_read_by_plan(monkeypatch, path: Path, wanted: int) -> tuple[int, int]:
    """(shards planned, bytes split read) for one input file."""
    read = []
    space = split.ByteSpace(logcount.list_inputs(str(path)))
    original = space._read

    def counting_read(index, offset, length):
        data = original(index, offset, length)
        read.append(len(data))
        return data

    monkeypatch.setattr(space, "_read", counting_read)
    try:
        bounds = split.plan_cuts(space, wanted)
    finally:
        space.close()
    return len(bounds) - 1, sum(read)


def test_split_reads_small_windows_not_the_data(tmp_path, monkeypatch):
    path = tmp_path / "in.log"
    path.write_bytes(
        b"2026-11-21 INFO some ordinary log line of about eighty bytes, say\n" * 40_000
    )
    shards, read = bytes_read_by_plan(monkeypatch, path, 16)
    assert shards == 16
    assert read <= 15 * split.FIRST_WINDOW  # one window per cut, of a 2.7 MB file


def test_split_reads_a_line_longer_than_many_shards_once(tmp_path, monkeypatch):
    path = tmp_path / "in.log"
    path.write_bytes(b"x" * 3_000_000 + b"\nshort\n")
    shards, read = bytes_read_by_plan(monkeypatch, path, 100)
    assert shards == 2
    assert read <= 3 * path.stat().st_size
