"""Benchmark the local runner: J=1 vs J=2 speed-up, its overhead over the bare scripts, and its
own CPU against its tasks' CPU at scale.

    python bench/runner.py [--size 1GiB] [--parts 8] [--repeat 3] [--seed 1]
                           [--tasks 1000,10000] [--only-scale]

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

Then, for each --tasks N, the runner's engine runs in this process a DAG of one task printing
N ids and a fan-out of N trivial tasks (`python -c pass`, the shape of a count pod without its
work) with --jobs 2, and prints the runner's own CPU (this process: scheduling, process
starts, progress) against the tasks' CPU (the reaped children), and their ratio; target: <= 10%.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from workflows.job import JOB_DIR as JOB  # noqa: E402  (the job's one home)

BENCH_DIR = REPO_ROOT / ".bench" / "runner"
# The runner's CPU may be at most this share of its tasks' CPU (issue 16).
RUNNER_CPU_TARGET = 0.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GiB", help="input size (default: 1GiB)")
    parser.add_argument("--parts", type=int, default=8, help="numParts (default: 8)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each variant's best kept")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tasks",
        type=_task_counts,
        default=[1000, 10000],
        help="fan-out widths of the runner CPU case, comma-separated (default: 1000,10000)",
    )
    parser.add_argument("--only-scale", action="store_true", help="run only the runner CPU case")
    args = parser.parse_args()
    if args.parts < 1 or args.repeat < 1:
        parser.error("--parts and --repeat must be at least 1")
    if not args.only_scale:
        status = run_speed(args)
        if status:
            return status
    return run_scale(args.tasks)


def _task_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of counts >= 1")
    return counts


def run_scale(counts: list[int]) -> int:
    """The runner's own CPU against its tasks' CPU, at each fan-out width."""
    sys.path.insert(0, str(REPO_ROOT))
    from workflows.runlocal import pods
    from workflows.runlocal.engine import Phase, WorkflowRun
    from workflows.runlocal.progress import LineReporter

    print(f"run-local at scale: trivial tasks, --jobs 2, cpus={os.cpu_count()}")
    print(f"{'tasks':>7}{'wall s':>9}{'runner CPU s':>14}{'tasks CPU s':>13}{'ratio':>8}  target")
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="bench-runner-scale-") as scratch:
            progress = io.StringIO()
            run = WorkflowRun(
                fan_out_template(count),
                name=f"scale-{count}",
                parameters={},
                volumes=pods.Volumes(claims={}, config_maps={}),
                state_dir=Path(scratch),
                jobs=2,
                reporter=LineReporter(progress),
                python=sys.executable,
            )
            own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            result = run.run()
            wall = time.perf_counter() - started
            own = _cpu(resource.RUSAGE_SELF) - own
            children = _cpu(resource.RUSAGE_CHILDREN) - children
        if result.phase != Phase.SUCCEEDED:
            print(f"{count} tasks: the run {result.phase.value}: {result.message}", file=sys.stderr)
            return 1
        ratio = own / children
        met = ratio <= RUNNER_CPU_TARGET
        verdict = f"<= {RUNNER_CPU_TARGET:.0%} {'met' if met else 'MISSED'}"
        print(f"{count:>7}{wall:9.1f}{own:14.2f}{children:13.2f}{ratio:8.1%}  {verdict}")
    return 0


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def fan_out_template(count: int) -> dict:
    """split prints `count` ids; map runs one trivial task per id; reduce runs once."""

    def container(name: str, code: str, inputs: tuple[str, ...] = ()) -> dict:
        template = {
            "name": name,
            "container": {"image": "python:3.12-slim", "command": ["python", "-c", code]},
        }
        if inputs:
            template["inputs"] = {"parameters": [{"name": name} for name in inputs]}
        return template

    ids = f"import json; print(json.dumps([str(i) for i in range({count})]))"
    tasks = [
        {"name": "split", "template": "ids"},
        {
            "name": "map",
            "template": "trivial",
            "depends": "split",
            "withParam": "{{tasks.split.outputs.result}}",
            "arguments": {"parameters": [{"name": "part", "value": "{{item}}"}]},
        },
        {"name": "reduce", "template": "last", "depends": "map"},
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "scale"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {"name": "main", "dag": {"tasks": tasks}},
                container("ids", ids),
                container("trivial", "pass", ("part",)),
                container("last", "pass"),
            ],
        },
    }


def run_speed(args: argparse.Namespace) -> int:
    """J=1 vs J=2 and the overhead over the bare scripts (see the module's docstring)."""
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
