"""Generate realistic, seeded log data for log-count and print its exact expected counts.

The lines mix timestamp styles, levels INFO/WARN/ERROR/DEBUG in several positions, look-alikes
that make substring and word counts differ (INFORMATION, DEBUGGER, _ERROR, WARNINGS), UTF-8 and
non-UTF-8 bytes, CRLF line ends and occasional very long lines.

Speed comes from drawing whole lines from a seeded pool instead of formatting each line: each
pool line is counted once, so the expected counts are the pool counts weighted by how often each
line was drawn, plus the counts of a file's last line when it is cut to size or left without a
newline. The same seed and arguments always give the same bytes.
"""

from __future__ import annotations

import bisect
import os
import random
from collections import Counter
from itertools import accumulate

import logcount

POOL_LINES = 4096
LONG_POOL_LINES = 8
# About one line in this many is a long one (tens to hundreds of KiB).
LONG_LINE_RARITY = 50_000
BATCH_LINES = 1 << 16

_COMPONENTS = ["api", "db", "worker-3", "scheduler", "auth", "cache", "ingest", "billing"]
_MESSAGES = [
    "request handled in {n}ms user=alice",
    "cache miss for key user:{n}",
    "retrying connection attempt {n} of 5",
    "INFORMATION_SCHEMA refreshed in {n}ms",
    "DEBUGGER attached to pid {n}",
    "job_ERROR counter={n} (expected 0)",
    "WARNINGS suppressed: {n}",
    "payload of {n} bytes accepted",
    "user zoë → checkout ✓ order={n}",
    "upstream said: ERROR-{n}: try again",
    "ERRORS=0 WARN=0 INFO={n}",
    "shard {n} done; no INFO, no WARN",
    "[INFO] nested level tag {n}",
    "debug flag set; DEBUG_MODE={n}",
]
_NON_UTF8 = [b"caf\xe9 au lait", b"\xff\xfe\x00binary\x80", b"latin-1 na\xefve"]


def _timestamp(rng: random.Random) -> str:
    hour, minute, second, milli = (rng.randrange(limit) for limit in (24, 60, 60, 1000))
    style = rng.randrange(3)
    if style == 0:
        return f"2026-11-21T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
    if style == 1:
        return f"Nov 21 {hour:02}:{minute:02}:{second:02}"
    return f"[{1763683200 + hour * 3600 + minute * 60 + second}.{milli:03}]"


def _pool_line(rng: random.Random) -> bytes:
    level = rng.choice(logcount.DEFAULT_KEYWORDS)
    component = rng.choice(_COMPONENTS)
    message = rng.choice(_MESSAGES).format(n=rng.randrange(100_000))
    stamp = _timestamp(rng)
    shape = rng.randrange(5)
    if shape == 0:
        text = f"{stamp} {level:<5} [{component}] {message}"
    elif shape == 1:
        text = f"{stamp} [{component}] level={level} msg={message!r}"
    elif shape == 2:
        text = f"{level}: {message} ({component} at {stamp})"
    elif shape == 3:
        text = f'{{"ts":"{stamp}","level":"{level.lower()}","msg":"{message}"}}'
    else:
        text = f"{stamp} {component}[{rng.randrange(1, 9999)}]: <{level}> {message}"
    line = text.encode()
    if rng.random() < 0.05:
        line += b" " + rng.choice(_NON_UTF8)
    return line + (b"\r\n" if rng.random() < 0.05 else b"\n")


def _long_line(rng: random.Random) -> bytes:
    words = [
        rng.choice(_MESSAGES).format(n=rng.randrange(1000)) for _ in range(rng.randrange(300, 3000))
    ]
    return f"{_timestamp(rng)} DEBUG dump: {' | '.join(words)}\n".encode()


def build_pool(seed: int) -> tuple[list[bytes], list[int]]:
    """Distinct lines and the cumulative weights to draw them with (long lines are rare)."""
    rng = random.Random(seed)
    lines = [_pool_line(rng) for _ in range(POOL_LINES)]
    lines += [_long_line(rng) for _ in range(LONG_POOL_LINES)]
    weights = [LONG_LINE_RARITY] * POOL_LINES + [POOL_LINES] * LONG_POOL_LINES
    return lines, list(accumulate(weights))


class Tally:
    """Expected counts in both match modes, from pool lines drawn and extra bytes."""

    def __init__(self, pool: list[bytes], keywords: tuple[str, ...]) -> None:
        self.keywords = keywords
        self.matchers = {mode: logcount.Matcher(keywords, mode) for mode in logcount.MATCH_MODES}
        self.pool = pool
        self.drawn: Counter[int] = Counter()
        self.counts = {mode: [0] * len(keywords) for mode in logcount.MATCH_MODES}
        self.lines = 0
        self.bytes = 0

    def add_block(self, data: bytes) -> None:
        """Bytes that start at a line start and end a file or a line."""
        for mode, matcher in self.matchers.items():
            found = matcher.count_lines(data, len(data))
            self.counts[mode] = [a + b for a, b in zip(self.counts[mode], found, strict=True)]
        self.lines += data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))
        self.bytes += len(data)

    def result(self) -> dict:
        counts = {mode: list(values) for mode, values in self.counts.items()}
        total_bytes, lines = self.bytes, self.lines
        for index, times in self.drawn.items():
            line = self.pool[index]
            for mode, matcher in self.matchers.items():
                found = matcher.count_lines(line, len(line))
                counts[mode] = [a + times * b for a, b in zip(counts[mode], found, strict=True)]
            total_bytes += times * len(line)
            lines += times
        return {
            "keywords": list(self.keywords),
            "counts": {
                mode: dict(zip(self.keywords, values, strict=True))
                for mode, values in counts.items()
            },
            "bytes": total_bytes,
            "lines": lines,
        }


def write_file(
    path: str,
    rng: random.Random,
    pool: list[bytes],
    cumulative: list[int],
    tally: Tally,
    size: int | None,
    lines: int | None,
    final_newline: bool,
) -> None:
    """One file of ``size`` bytes (the last line cut to fit) or of ``lines`` lines."""
    lengths = [len(line) for line in pool]
    indices = range(len(pool))

    def draw(count: int) -> list[int]:
        return rng.choices(indices, cum_weights=cumulative, k=count)

    with open(path, "wb") as out:

        def emit(batch: list[int]) -> None:
            out.write(b"".join(map(pool.__getitem__, batch)))
            tally.drawn.update(batch)

        last = b""
        if lines is not None:
            remaining = lines
            while remaining:
                batch = draw(min(BATCH_LINES, remaining))
                remaining -= len(batch)
                if not remaining:
                    *batch, final = batch
                    last = pool[final]
                emit(batch)
        else:
            written = 0
            while True:
                batch = draw(BATCH_LINES)
                ends = list(accumulate((lengths[index] for index in batch), initial=written))
                # ends[n + 1] is where line n of the batch ends; find the line reaching `size`.
                reach = bisect.bisect_left(ends, size, lo=1) - 1
                if reach < len(batch):
                    emit(batch[:reach])
                    last = pool[batch[reach]][: size - ends[reach]]
                    break
                emit(batch)
                written = ends[-1]
        if not final_newline and last.endswith(b"\n"):
            last = last[:-1]
        out.write(last)
        tally.add_block(last)


def build_parser() -> logcount.ArgumentParser:
    parser = logcount.ArgumentParser(
        prog="generate.py",
        description=(
            "Write seeded, realistic log data for log-count and print its exact expected "
            "counts (both match modes), bytes and lines as JSON."
        ),
        epilog="Sizes take an optional suffix: " + logcount.SIZE_SUFFIXES + ". Exit codes: 0 ok, "
        "2 bad usage.",
    )
    parser.add_argument(
        "--output",
        required=True,
        metavar="PATH",
        help="the file to write, or with --files the directory to write them into",
    )
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument("--size", metavar="SIZE", help="total bytes, e.g. 256MiB")
    amount.add_argument("--lines", metavar="N", help="total lines")
    parser.add_argument("--seed", default="1", metavar="S", help="random seed (default: 1)")
    parser.add_argument(
        "--files", default="", metavar="N", help="write N files log-00000.log... into PATH"
    )
    parser.add_argument(
        "--keywords",
        default=",".join(logcount.DEFAULT_KEYWORDS),
        metavar="K1,K2,...",
        help="keywords to report expected counts for (default: %(default)s)",
    )
    parser.add_argument(
        "--no-final-newline",
        action="store_true",
        help="end each file's last line without a newline",
    )
    return parser


def split_evenly(total: int, parts: int) -> list[int]:
    return [total // parts + (number < total % parts) for number in range(parts)]


def main(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    size = logcount.parse_size(args.size, "--size") if args.size is not None else None
    lines = logcount.parse_positive_int(args.lines, "--lines") if args.lines is not None else None
    try:
        seed = int(args.seed)
    except ValueError:
        raise logcount.UsageError(f"--seed: {args.seed!r} is not an integer") from None
    files = logcount.parse_positive_int(args.files, "--files") if args.files else None
    keywords = logcount.parse_keywords(args.keywords)

    pool, cumulative = build_pool(seed)
    tally = Tally(pool, keywords)
    rng = random.Random(seed + 1)
    if files is None:
        paths = [args.output]
    else:
        paths = [os.path.join(args.output, f"log-{number:05}.log") for number in range(files)]
    amounts = split_evenly(size if size is not None else lines, len(paths))
    try:
        os.makedirs(os.path.dirname(os.path.abspath(paths[0])), exist_ok=True)
        for path, amount in zip(paths, amounts, strict=True):
            file_size, file_lines = (amount, None) if size is not None else (None, amount)
            write_file(
                path, rng, pool, cumulative, tally, file_size, file_lines, not args.no_final_newline
            )
    except OSError as error:
        raise logcount.UsageError(
            f"--output: cannot write {error.filename!r}: {error.strerror}"
        ) from None
    logcount.print_json({"files": len(paths), **tally.result()})


if __name__ == "__main__":
    raise SystemExit(logcount.run(main))
