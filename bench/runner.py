"""Benchmark the local runner: J=1 vs J=2 speed-up, and its overhead over the bare scripts.

    python bench/runner.py [--size 1GiB] [--parts 8] [--repeat 3] [--seed 1]

Generates one input under .bench/runner/ (kept between runs, regenerated when the size or seed
changes), reads it once to warm the page cache, then times in --repeat interleaved rounds
(best kept):
  start-up  python -m workflows run-local --help (interpreter and imports)
  direct    split.py, count.py for every shard, merge.py, called one after another
  J=1       python -m workflows run-local --jobs 1 (render + DAG with one task at a time)
  J=2       python -m workflows run-local --jobs 2
  J=1 staged  J=1 with the input outside the volume, so run-local first copies it in
and prints a table of seconds and ratios. The direct and J=* variants read the input where it
already is in the volume (a hard link to the generated file), so they compare the same work;
"J=1 staged" adds what --input from elsewhere costs. Every run's totals are checked to be
identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
JOB = REPO_ROOT / "workflows" / "log-count"
BENCH_DIR = REPO_ROOT / ".bench" / "runner"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GiB", help="input size (default: 1GiB)")
    parser.add_argument("--parts", type=int, default=8, help="numParts (default: 8)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each variant's best kept")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.parts < 1 or args.repeat < 1:
        parser.error("--parts and --repeat must be at least 1")
    source = prepare_input(args.size, args.seed)
    volume = BENCH_DIR / "volume"
    in_volume = volume / source.name
    variants = {
        "start-up": run_start_up,
        "direct": lambda: run_direct(in_volume, volume, args.parts),
        "J=1": lambda: run_local(in_volume, volume, args.parts, jobs=1),
        "J=2": lambda: run_local(in_volume, volume, args.parts, jobs=2),
        "J=1 staged": lambda: run_local(source, volume, args.parts, jobs=1),
    }
    warm_page_cache(source)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    results: dict[str, dict] = {}
    # Rounds interleave the variants, so load from elsewhere on the machine hits them alike.
    for round_number in range(1, args.repeat + 1):
        for name, variant in variants.items():
            shutil.rmtree(volume, ignore_errors=True)
            volume.mkdir(parents=True)
            in_volume.hardlink_to(source)
            started = time.perf_counter()
            results[name] = variant()
            timings[name].append(time.perf_counter() - started)
            print(f"round {round_number} {name:>8}: {timings[name][-1]:7.2f} s", file=sys.stderr)
    seconds = {name: min(values) for name, values in timings.items()}
    shutil.rmtree(volume, ignore_errors=True)
    totals = {name: results[name]["counts"] for name in ("direct", "J=1", "J=2", "J=1 staged")}
    if len({json.dumps(counts, sort_keys=True) for counts in totals.values()}) != 1:
        print(f"totals differ between variants: {totals}", file=sys.stderr)
        return 1
    size = source.stat().st_size
    print(
        f"run-local benchmark: {size / 2**20:.0f} MiB, numParts={args.parts}, cpus={os.cpu_count()}"
    )
    print(f"{'variant':<26}{'seconds':>9}{'MiB/s':>9}")
    for name, value in seconds.items():
        if name == "start-up":
            print(f"{name:<26}{value:9.2f}")
            continue
        print(f"{name:<26}{value:9.2f}{size / 2**20 / value:9.1f}")
    print(f"{'speed-up J=2 vs J=1':<26}{seconds['J=1'] / seconds['J=2']:9.2f}x")
    print(f"{'overhead J=1 vs direct':<26}{seconds['J=1'] / seconds['direct']:9.2f}x")
    without_start_up = (seconds["J=1"] - seconds["start-up"]) / seconds["direct"]
    print(f"{'  without CLI start-up':<26}{without_start_up:9.2f}x")
    print(f"{'J=1 staged vs J=1':<26}{seconds['J=1 staged'] / seconds['J=1']:9.2f}x")
    return 0


def prepare_input(size: str, seed: int) -> Path:
    source = BENCH_DIR / "input.log"
    stamp = BENCH_DIR / "input.stamp"
    wanted = f"{size} {seed}"
    if not (source.is_file() and stamp.is_file() and stamp.read_text() == wanted):
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        print(f"generating {size} of logs in {source}", file=sys.stderr)
        python(JOB / "generate.py", "--output", str(source), "--size", size, "--seed", str(seed))
        stamp.write_text(wanted)
    return source


def warm_page_cache(source: Path) -> None:
    """Read the input once, so no variant pays for reading it cold from disk."""
    with source.open("rb") as handle:
        while handle.read(1 << 23):
            pass


def python(*args: str | Path) -> str:
    done = subprocess.run(
        [sys.executable, *map(str, args)], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    )
    return done.stdout


def run_start_up() -> dict:
    """The fixed cost of every invocation: `python -m workflows run-local --help`."""
    python("-m", "workflows", "run-local", "--help")
    return {}


def run_direct(source: Path, volume: Path, parts: int) -> dict:
    """The job without any runner: the three scripts in sequence, as one pod after another."""
    workdir = volume / "runs" / "direct"
    shards = json.loads(
        python(JOB / "split.py", f"--input={source}", f"--workdir={workdir}", f"--parts={parts}")
    )
    for shard in shards:
        python(JOB / "count.py", f"--workdir={workdir}", f"--part={shard}")
    return json.loads(
        python(JOB / "merge.py", f"--workdir={workdir}", f"--output={workdir / 'result.json'}")
    )


def run_local(source: Path, volume: Path, parts: int, *, jobs: int) -> dict:
    return json.loads(
        python(
            "-m",
            "workflows",
            "run-local",
            "--input",
            source,
            "--volume-dir",
            volume,
            "-p",
            f"numParts={parts}",
            "--jobs",
            str(jobs),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
