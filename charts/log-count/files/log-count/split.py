"""log-count split: plan shards as byte ranges aligned to line starts, without copying data.

The inputs (a file, or every regular file below a directory in sorted path order) are laid end
to end in one byte space. A shard is a run of whole lines in that space; it may span several
files, and a big file may span several shards. Every file start is a line start.

How K (the number of shards) is reached without reading the data:

1. Cut targets are spaced evenly over the byte space (K wanted = ``--parts``, or
   ceil(total bytes / ``--part-size``), capped by ``--max-parts``).
2. Each target moves forward to the next line start, found by reading a small window (4 KiB,
   doubling while a line goes on). Targets inside the same line collapse into one cut (without
   reading that line again), so a shard is never empty and K never exceeds the number of lines.
3. If cuts collapsed (K below the wanted number), the largest shards are split again at a line
   start near their middle, looked up the same way; a shard found to hold a single line is set
   aside. This stops when K reaches the wanted number or every shard is one line, so
   K = min(wanted, number of lines) exactly, while the reads stay O(shards) small windows for
   ordinary logs. Only when the wanted number approaches the line count does this amount to
   reading every line end, which is then both necessary and cheap (few lines per shard).

The window reads of step 2 run in parallel (logcount.io_map; each task opens its file once
for all its targets), and so do the listing and the one lstat per file of a directory input:
on OSS or NAS every such call is a network round trip. Only a target whose line goes on past
its first window is then looked up one at a time, in order, so a long line is still read once.

Writes DIR/manifest.json (everything, for merge) and DIR/shards.idx (one record per shard behind
a fixed-width index, so a count reads its own plan with a few small reads). Empty input gives
one empty shard, so the map step always has an item. Running split twice on unchanged inputs
writes the same files.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import os

import logcount

FIRST_WINDOW = 4096
LARGEST_WINDOW = 1 << 20


class ByteSpace:
    """The inputs laid end to end; finds line starts by reading small windows."""

    def __init__(self, inputs: list[logcount.InputFile]) -> None:
        self.inputs = inputs
        self.starts = [0]
        for item in inputs:
            self.starts.append(self.starts[-1] + item.size)
        self.total = self.starts[-1]
        self._open_index = -1
        self._handle = None

    def first_window_line_starts(self, positions: list[int]) -> list[int | None]:
        """next_line_start of each position if its first window holds it, else None.

        In parallel: the positions are grouped by file, a task opens its file once and reads
        the windows of up to a share of that file's positions (so one big file is read by many
        tasks at once).
        """
        found: list[int | None] = [None] * len(positions)
        by_input: dict[int, list[int]] = {}
        for number, position in enumerate(positions):
            if position >= self.total:
                found[number] = self.total
                continue
            index, offset = self._locate(position)
            if offset == 0:
                found[number] = position
            else:
                by_input.setdefault(index, []).append(number)
        share = max(1, -(-len(positions) // logcount.IO_THREADS))
        tasks = [
            (index, numbers[first : first + share])
            for index, numbers in by_input.items()
            for first in range(0, len(numbers), share)
        ]

        def look(task: tuple[int, list[int]]) -> list[tuple[int, int | None]]:
            index, numbers = task
            path = self.inputs[index].path
            try:
                descriptor = os.open(path, os.O_RDONLY)
            except OSError as error:
                raise logcount.UsageError(
                    f"--input: cannot read {path!r}: {error.strerror}"
                ) from None
            try:
                if hasattr(os, "posix_fadvise"):  # small scattered reads: no read-ahead
                    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_RANDOM)
                answers = []
                for number in numbers:
                    offset = positions[number] - self.starts[index]
                    data = os.pread(descriptor, FIRST_WINDOW, offset - 1)
                    newline = data.find(b"\n")
                    if newline >= 0:
                        answers.append((number, self.starts[index] + offset + newline))
                    elif offset - 1 + len(data) >= self.inputs[index].size:
                        answers.append((number, self.starts[index + 1]))  # the file's end
                    else:
                        answers.append((number, None))
                return answers
            finally:
                os.close(descriptor)

        # A task is a run of reads of its own: to the pool at once (see io_map).
        for answers in logcount.io_map(look, tasks, probe=False):
            for number, line_start in answers:
                found[number] = line_start
        return found

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _read(self, index: int, offset: int, length: int) -> bytes:
        if index != self._open_index:
            self.close()
            path = self.inputs[index].path
            try:
                self._handle = open(path, "rb")  # noqa: SIM115 - kept open across reads
            except OSError as error:
                raise logcount.UsageError(
                    f"--input: cannot read {path!r}: {error.strerror}"
                ) from None
            self._open_index = index
        self._handle.seek(offset)
        return self._handle.read(length)

    def _locate(self, position: int) -> tuple[int, int]:
        """(input index, offset) of a position in [0, total); empty inputs are skipped."""
        index = bisect.bisect_right(self.starts, position) - 1
        return index, position - self.starts[index]

    def next_line_start(self, position: int) -> int:
        """The first line start at or after ``position`` (``total`` if there is none)."""
        if position >= self.total:
            return self.total
        index, offset = self._locate(position)
        if offset == 0:
            return position
        size = self.inputs[index].size
        # A line starts at offset iff the byte before it is a newline, so look from offset - 1.
        cursor, window = offset - 1, FIRST_WINDOW
        while cursor < size:
            data = self._read(index, cursor, window)
            found = data.find(b"\n")
            if found >= 0:
                return self.starts[index] + cursor + found + 1
            if not data:
                break
            cursor += len(data)
            window = min(window * 2, LARGEST_WINDOW)
        return self.starts[index] + size

    def previous_line_start(self, position: int) -> int:
        """The last line start at or before ``position`` (which is below ``total``)."""
        index, offset = self._locate(position)
        cursor, window = offset, FIRST_WINDOW
        while cursor > 0:
            begin = max(0, cursor - window)
            found = self._read(index, begin, cursor - begin).rfind(b"\n")
            if found >= 0:
                return self.starts[index] + begin + found + 1
            cursor, window = begin, min(window * 2, LARGEST_WINDOW)
        return self.starts[index]

    def interior_line_start(self, start: int, end: int) -> int | None:
        """A line start strictly inside (start, end) near its middle, or None for one line."""
        middle = (start + end) // 2
        after = self.next_line_start(middle)
        if after < end and after > start:
            return after
        before = self.previous_line_start(middle)
        return before if before > start else None

    def ranges(self, start: int, end: int) -> list[logcount.Range]:
        """The per-input (index, start, end) ranges covering [start, end), empty ones left out."""
        pieces = []
        index = bisect.bisect_right(self.starts, start) - 1
        while start < end:
            stop = min(end, self.starts[index + 1])
            if stop > start:
                pieces.append((index, start - self.starts[index], stop - self.starts[index]))
            start, index = stop, index + 1
        return pieces


def plan_cuts(space: ByteSpace, wanted: int) -> list[int]:
    """Sorted shard boundaries [0, ..., total] giving min(wanted, lines) non-empty shards."""
    if space.total == 0:
        return [0, 0]
    cuts = {0, space.total}
    cut = 0
    targets = [step * space.total // wanted for step in range(1, wanted)]
    quick = space.first_window_line_starts(targets)
    for target, line_start in zip(targets, quick, strict=True):
        # A target at or before the previous cut lies in the line that cut ends, so it collapses
        # into that cut; skipping it keeps a very long line from being read once per target.
        if target > cut:
            cut = line_start if line_start is not None else space.next_line_start(target)
            cuts.add(cut)
    bounds = sorted(cuts)
    missing = wanted - (len(bounds) - 1)
    if missing > 0:
        # Largest first; ties by position, so the plan is deterministic.
        heap = [(start - end, start, end) for start, end in itertools.pairwise(bounds)]
        heapq.heapify(heap)
        while missing and heap:
            _, start, end = heapq.heappop(heap)
            middle = space.interior_line_start(start, end)
            if middle is None:
                continue
            cuts.add(middle)
            missing -= 1
            heapq.heappush(heap, (start - middle, start, middle))
            heapq.heappush(heap, (middle - end, middle, end))
        bounds = sorted(cuts)
    return bounds


def wanted_shards(total: int, parts: int | None, part_size: int | None, max_parts: int) -> int:
    if part_size is not None:
        wanted = math.ceil(total / part_size)
        if wanted > max_parts:
            logcount.log(
                f"--part-size {part_size} would give {wanted} shards; capped at --max-parts "
                f"{max_parts}"
            )
        return max(1, min(wanted, max_parts))
    assert parts is not None
    return parts


def check_workdir_outside_input(input_path: str, workdir: str) -> None:
    """Refuse a work directory inside the input directory: split would plan the work files of
    this and other runs as input, and they change while they are counted."""
    source = os.path.realpath(input_path)
    work = os.path.realpath(workdir)
    if os.path.isdir(source) and os.path.commonpath([source, work]) == source:
        raise logcount.UsageError(
            f"--input {input_path!r} contains --workdir {workdir!r}: split would count the "
            "work files of this and other runs, which change while they are counted; put the "
            "input in a separate directory, e.g. inputs/<name> beside runs/"
        )


def build_parser() -> logcount.ArgumentParser:
    parser = logcount.ArgumentParser(
        prog="split.py",
        description=(
            "Plan log-count shards: byte ranges of the input aligned to line starts. Writes "
            "DIR/manifest.json and DIR/shards.idx (each shard's plan, for count) and prints the "
            "shard ids as one JSON array on stdout."
        ),
        epilog=(
            "--parts and --part-size may both be given (the chart always passes both); an empty "
            "value means 'not set', and a non-empty --part-size wins over --parts. With --parts "
            "N there are min(N, lines) shards; with --part-size SIZE, ceil(bytes / SIZE) within "
            "the same bounds. Sizes take an optional suffix: " + logcount.SIZE_SUFFIXES + ". "
            "Exit codes: 0 ok, 2 bad usage or input."
        ),
    )
    parser.add_argument("--input", required=True, metavar="PATH", help="a file or a directory")
    parser.add_argument(
        "--root",
        default="/",
        metavar="DIR",
        help="the volume root: every input path, symbolic links resolved, must lie inside it "
        "(default: %(default)s; the chart passes its mount path)",
    )
    parser.add_argument("--workdir", required=True, metavar="DIR", help="where the manifest goes")
    parser.add_argument("--parts", default="", metavar="N", help="number of shards wanted")
    parser.add_argument("--part-size", default="", metavar="SIZE", help="bytes per shard, 64MiB")
    parser.add_argument(
        "--keywords",
        default=",".join(logcount.DEFAULT_KEYWORDS),
        metavar="K1,K2,...",
        help="comma-separated keywords, matched as UTF-8 bytes (default: %(default)s)",
    )
    parser.add_argument(
        "--match",
        default=logcount.DEFAULT_MATCH,
        metavar="|".join(logcount.MATCH_MODES),
        help="substring: non-overlapping occurrences; word: only those with no [A-Za-z0-9_] "
        "byte before or after (default: %(default)s)",
    )
    parser.add_argument(
        "--max-parts",
        default=str(logcount.DEFAULT_MAX_PARTS),
        metavar="M",
        help="cap on the number of shards (default: %(default)s; at most "
        f"{logcount.LARGEST_MAX_PARTS}, so the id list fits Argo's outputs.result)",
    )
    return parser


def main(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    max_parts = logcount.parse_positive_int(args.max_parts, "--max-parts")
    if max_parts > logcount.LARGEST_MAX_PARTS:
        raise logcount.UsageError(
            f"--max-parts: {max_parts} is above the maximum {logcount.LARGEST_MAX_PARTS}: a "
            f"longer shard id list would exceed {logcount.ID_LIST_BOUND} bytes of stdout, and "
            "Argo keeps only the last 256 KiB of it as outputs.result (broken JSON in withParam)"
        )
    part_size_flag, parts_flag = logcount.label("--part-size"), logcount.label("--parts")
    part_size = logcount.parse_size(args.part_size, part_size_flag) if args.part_size else None
    parts = (
        logcount.parse_positive_int(args.parts, parts_flag, maximum=max_parts)
        if args.parts
        else None
    )
    if parts is None and part_size is None:
        raise logcount.UsageError(
            f"give {parts_flag} N or {part_size_flag} SIZE (both are empty or missing)"
        )
    check_workdir_outside_input(args.input, args.workdir)
    keywords = logcount.parse_keywords(args.keywords, logcount.label("--keywords"))
    match = logcount.parse_match(args.match, logcount.label("--match"))
    for keyword in keywords:
        if keyword != keyword.strip():
            logcount.log(f"note: keyword {keyword!r} has surrounding spaces; they must match too")
    inputs = logcount.list_inputs(args.input, logcount.label("--input"), args.root)

    space = ByteSpace(inputs)
    try:
        wanted = wanted_shards(space.total, parts, part_size, max_parts)
        bounds = plan_cuts(space, wanted)
        shards = {
            str(number): tuple(space.ranges(start, end))
            for number, (start, end) in enumerate(itertools.pairwise(bounds))
        }
    finally:
        space.close()
    plan = {"parts": parts, "part_size": part_size, "max_parts": max_parts, "wanted": wanted}
    manifest = logcount.Manifest(tuple(inputs), keywords, match, shards, plan)
    try:
        os.makedirs(args.workdir, exist_ok=True)
        index = logcount.shard_index_bytes(manifest)
        logcount.write_bytes_atomic(logcount.shard_index_path(args.workdir), index)
        logcount.write_json_atomic(logcount.manifest_path(args.workdir), manifest.to_json())
    except OSError as error:
        raise logcount.UsageError(
            f"--workdir: cannot write {args.workdir!r}: {error.strerror}"
        ) from None
    logcount.log(
        f"split: {len(inputs)} file(s), {space.total} bytes -> {len(shards)} shard(s) "
        f"(wanted {wanted})"
    )
    logcount.print_json(list(shards))


if __name__ == "__main__":
    raise SystemExit(logcount.run(main))
