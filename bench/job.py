"""Benchmark the log-count job against the reference algorithm it replaces; prints ratios.

    .venv/bin/python bench/job.py [--size 256MiB] [--parts 8] [--rss-size 1GiB] [--seed 1]

On one generated file (cached under .bench/job/), in one run:

* split: the reference's line-copy split into part files, against ours (split.py as a process,
  which only plans), also on a file 1/16 the size and on the --rss-size file, to show that our
  split time does not grow with the input;
* count: the reference's per-part algorithm (read the whole part as text, one re.findall per
  keyword) against ours (count.py's code, streamed) in substring and word mode, all in this
  process over the same parts; ``grep -c -F`` per keyword as a floor (it counts matching lines,
  not matches, so only its time is comparable);
* memory: the peak RSS of one count.py process on a single --rss-size shard, and of the
  reference count on one of its part files.

Times are CPU seconds (user + system; of the child process for split), the best of --repeat
runs for the counts, so other work on a shared machine disturbs the ratios little.

Every count is checked against the generator's expected counts; a mismatch exits 1.
Targets: split time independent of input size; count >= 2.5x the reference's throughput in
substring mode and >= 1x in word mode; count peak RSS <= 64 MiB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from workflows.job import JOB_DIR  # noqa: E402  (the job's one home)

sys.path.insert(0, str(JOB_DIR))
sys.dont_write_bytecode = True  # the job directory is shipped by the chart

import logcount  # noqa: E402

SCRATCH = REPO / ".bench" / "job"
KEYWORDS = list(logcount.DEFAULT_KEYWORDS)
MiB = 1 << 20
RSS_TARGET = 64 * MiB


# --- the reference job's algorithm, re-implemented faithfully ----------------------------------


def reference_split(source: Path, parts: int, out_dir: Path) -> list[Path]:
    """Read every line, then write ceil(lines / parts) lines per part file."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    # surrogateescape keeps non-UTF-8 bytes (the reference would stop at the first one).
    with open(source, encoding="utf-8", errors="surrogateescape") as handle:
        lines = handle.readlines()
    per_part = math.ceil(len(lines) / parts)
    paths = []
    for number, first in enumerate(range(0, len(lines), per_part)):
        path = out_dir / f"part-{number}.txt"
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.writelines(lines[first : first + per_part])
        paths.append(path)
    return paths


def reference_count(paths: list[Path]) -> dict[str, int]:
    """Per part: read the whole text, one regex findall per keyword."""
    counts = dict.fromkeys(KEYWORDS, 0)
    for path in paths:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
        for keyword in KEYWORDS:
            counts[keyword] += len(re.findall(keyword, text))
    return counts


# --- helpers -----------------------------------------------------------------------------------


def run_child(command: list[str]) -> tuple[str, float, int]:
    """(stdout, CPU seconds, peak RSS in bytes) of a child process that must succeed.

    Linux charges a child's peak RSS with its parent's at fork, so measure memory through
    ``--peak-rss`` (a small helper process) once this process has grown.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            command, stdout=out, stderr=err, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            err.seek(0)
            sys.exit(f"{' '.join(command)} failed: {err.read().decode().strip()}")
        out.seek(0)
        return out.read().decode(), usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def peak_rss(command: list[str]) -> int:
    stdout, _, _ = run_child([sys.executable, __file__, "--peak-rss", *command])
    return int(stdout)


def run_step(step: str, *args: str) -> tuple[str, float]:
    stdout, seconds, _ = run_child([sys.executable, str(JOB_DIR / f"{step}.py"), *args])
    return stdout, seconds


def generated(size: int, seed: int) -> tuple[Path, dict]:
    """A generated file of ``size`` bytes and its expected counts (cached by size and seed)."""
    path = SCRATCH / f"data-{size}-seed{seed}.log"
    report_path = path.with_suffix(".json")
    if not (path.exists() and report_path.exists()):
        print(f"generating {size / MiB:.0f} MiB of log data ...", file=sys.stderr)
        report, _ = run_step(
            "generate", "--output", str(path), "--size", str(size), "--seed", str(seed)
        )
        report_path.write_text(report)
    return path, json.loads(report_path.read_text())


def repeated(source: Path, size: int) -> Path:
    """``size`` bytes made of copies of ``source`` (for the memory test), cached."""
    path = SCRATCH / f"repeat-{size}-{source.name}"
    if not path.exists() or path.stat().st_size != size:
        print(f"writing the {size / MiB:.0f} MiB memory-test file ...", file=sys.stderr)
        with open(path, "wb") as out, open(source, "rb") as data:
            while out.tell() < size:
                data.seek(0)
                shutil.copyfileobj(data, out)
            out.truncate(size)
    return path


def cpu_time(action):
    """(CPU seconds, value) of one call."""
    start = time.process_time()
    value = action()
    return time.process_time() - start, value


def best_interleaved(actions: dict, repeat: int) -> dict:
    """name -> (fewest CPU seconds, value), running the actions in turn ``repeat`` times so
    that load from other work on the machine falls on all of them alike."""
    best: dict = {}
    for _ in range(repeat):
        for name, action in actions.items():
            seconds, value = cpu_time(action)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, value)
    return best


def split_ours(source: Path, workdir: Path, parts: int, match: str) -> tuple[float, list[str]]:
    """(CPU seconds of split.py as a process, shard ids)."""
    shutil.rmtree(workdir, ignore_errors=True)
    stdout, seconds = run_step(
        "split",
        "--input",
        str(source),
        "--workdir",
        str(workdir),
        "--parts",
        str(parts),
        "--match",
        match,
    )
    return seconds, json.loads(stdout)


def count_ours(workdir: Path, ids: list[str]) -> dict:
    """count.py's own code, in this process like the reference, over every shard."""
    manifest = logcount.load_manifest(str(workdir))
    matcher = logcount.Matcher(manifest.keywords, manifest.match)
    ranges = [item for shard_id in ids for item in manifest.shards[shard_id]]
    return logcount.count_ranges(manifest.inputs, ranges, matcher)["counts"]


def grep_floor(source: Path) -> float:
    """CPU seconds of ``grep -c -F`` once per keyword."""
    return sum(
        run_child(["env", "LC_ALL=C", "grep", "-c", "-F", keyword, str(source)])[1]
        for keyword in KEYWORDS
    )


def check(what: str, got: dict, expected: dict) -> None:
    if got != expected:
        sys.exit(f"{what} counted {got}, expected {expected}")


# --- the run -----------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="256MiB", help="input size (default: %(default)s)")
    parser.add_argument("--parts", type=int, default=8, help="parts/shards (default: 8)")
    parser.add_argument("--rss-size", default="1GiB", help="memory-test shard size (1GiB)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    parser.add_argument("--repeat", type=int, default=3, help="count runs to take the best of")
    args = parser.parse_args(argv)
    try:
        size = logcount.parse_size(args.size, "--size")
        rss_size = logcount.parse_size(args.rss_size, "--rss-size")
    except logcount.UsageError as error:
        parser.error(str(error))
    SCRATCH.mkdir(parents=True, exist_ok=True)

    source, report = generated(size, args.seed)
    small, _ = generated(max(1, size // 16), args.seed)
    big = repeated(source, rss_size)
    expected = report["counts"]

    ref_split_s, part_paths = cpu_time(lambda: reference_split(source, args.parts, SCRATCH / "ref"))
    split_s, ids = split_ours(source, SCRATCH / "ours", args.parts, "substring")
    small_split_s, _ = split_ours(small, SCRATCH / "ours-small", args.parts, "substring")
    big_split_s, _ = split_ours(big, SCRATCH / "ours-big", args.parts, "substring")
    _, word_ids = split_ours(source, SCRATCH / "ours-word", args.parts, "word")
    counted = best_interleaved(
        {
            "reference": lambda: reference_count(part_paths),
            "substring": lambda: count_ours(SCRATCH / "ours", ids),
            "word": lambda: count_ours(SCRATCH / "ours-word", word_ids),
        },
        args.repeat,
    )
    (ref_count_s, ref_counts), (count_s, counts), (word_s, word_counts) = counted.values()
    check("the reference", ref_counts, expected["substring"])
    check("count (substring)", counts, expected["substring"])
    check("count (word)", word_counts, expected["word"])
    grep_s = grep_floor(source)

    whole = SCRATCH / "ours-rss"
    split_ours(big, whole, 1, "substring")
    count_rss = peak_rss(
        [sys.executable, str(JOB_DIR / "count.py"), "--workdir", str(whole), "--part", "0"]
    )
    reference_rss = peak_rss(
        [sys.executable, __file__, "--reference-count-part", str(part_paths[0])]
    )
    part_mib = part_paths[0].stat().st_size / MiB

    def row(label: str, seconds: float, data_bytes: int | None, baseline: float | None) -> str:
        rate = f"{data_bytes / MiB / seconds:9.0f}" if data_bytes else f"{'':9}"
        ratio = f"{baseline / seconds:8.2f}x" if baseline else f"{'':9}"
        return f"  {label:<44}{seconds:9.3f}{rate}{ratio}"

    print(
        f"log-count job benchmark: {size / MiB:.0f} MiB, {report['lines']:,} lines, "
        f"{args.parts} parts, python {sys.version.split()[0]}"
    )
    print(f"  {'':<44}{'CPU s':>9}{'MiB/s':>9}{'speed-up':>9}")
    print(row("split, reference (line copy to part files)", ref_split_s, size, ref_split_s))
    print(row(f"split, ours ({size / MiB:.0f} MiB, as a process)", split_s, None, ref_split_s))
    print(row(f"split, ours ({small.stat().st_size / MiB:.0f} MiB)", small_split_s, None, None))
    print(row(f"split, ours ({rss_size / MiB:.0f} MiB)", big_split_s, None, None))
    print(row("count, reference (whole text, re.findall)", ref_count_s, size, ref_count_s))
    print(row("count, ours, substring", count_s, size, ref_count_s))
    print(row("count, ours, word", word_s, size, ref_count_s))
    print(row("grep -c -F per keyword (floor)", grep_s, size, ref_count_s))
    print(
        f"  peak RSS: count.py on one {rss_size / MiB:.0f} MiB shard {count_rss / MiB:.1f} MiB; "
        f"reference count on one {part_mib:.0f} MiB part {reference_rss / MiB:.1f} MiB"
    )
    targets = {
        "split time independent of input size (largest <= 2x smallest)": big_split_s
        <= 2 * small_split_s,
        "count substring >= 2.5x reference": ref_count_s / count_s >= 2.5,
        "count word >= 1x reference": ref_count_s / word_s >= 1,
        "count peak RSS <= 64 MiB": count_rss <= RSS_TARGET,
    }
    for target, met in targets.items():
        print(f"  {'met   ' if met else 'MISSED'} {target}")
    return 0


def measure_peak_rss(command: list[str]) -> None:
    """Helper mode: run ``command`` from this small process and print its peak RSS."""
    print(run_child(command)[2])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--reference-count-part"]:
        reference_count([Path(sys.argv[2])])
    elif sys.argv[1:2] == ["--peak-rss"]:
        measure_peak_rss(sys.argv[2:])
    else:
        raise SystemExit(main(sys.argv[1:]))
