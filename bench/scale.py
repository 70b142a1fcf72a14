"""The log-count steps at fan-out scale over a latency-adding FUSE mount; prints targets.

    .venv/bin/python bench/scale.py [--delay-ms 5] [--client ossfs ossfs2] [--small]
        [--job-dir DIR] [--cases ...]

For each case (a directory of N small files, or one big file, split into K shards) the three
steps run as processes, like pods, first on local disk and then through bench/latencyfs.py
(a fresh mount per step, so each starts cold like a new pod): split, one count (the middle
shard) and merge (after every other shard's count file is made in-process on local disk, which
is no part of any figure). Printed per step: wall time on local disk and through the mount,
round trips (metadata calls + reads + writes the mount served) and bytes read; then every
target of issue 16 as MET or MISSED with its figures, per client model. Targets are defined at
5 ms per call.

--client picks the latencyfs model(s) (CLIENTS): ``ossfs`` (1.x with max_stat_cache_size=0:
every lookup a round trip, libfuse's 1 s kernel cache, listings of names only) and ``ossfs2``
(2.0's defaults: readdirplus, 60 s attribute cache). Both by default. Each case of each model
runs in a scratch directory of its own (SCRATCH/CLIENT/...; only the generated inputs are
shared), every mount is taken down in a `finally` and waited for until it is gone, so a failed
or slow step never leaves a mount or files for the next case.

--small runs tiny cases (for the tests; figures mean nothing then). --job-dir runs another
version of charts/log-count/files/log-count (e.g. a checkout of an older commit) for
before/after figures.
Needs root or fusermount3 and /dev/fuse, libfuse3 (apt-get install fuse3) and mfusepy.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from workflows.job import JOB_DIR  # noqa: E402  (the job's one home)

DEFAULT_SCRATCH = REPO / ".bench" / "scale"
SCRATCH = DEFAULT_SCRATCH
LATENCYFS = Path(__file__).resolve().parent / "latencyfs.py"
MOUNT_WAIT = 30.0  # seconds for a mount to appear
LINE = b"2026-11-21T05:00:00Z host-%05d INFO request served WARN slow ERROR none DEBUG x\n"

TARGET_SPLIT_FILES = 60.0  # 100,000 files / 10,000 shards
TARGET_SPLIT_BIG = 10.0  # one file / 10,000 shards
TARGET_MERGE = 10.0  # 10,000 count files
TARGET_COUNT_ROUND_TRIPS = 10
TARGET_COUNT_BYTES = 64 * 1024
TARGET_DELAY_MS = 5.0
UNMOUNT_WAIT = 60.0  # seconds for a mount to be gone after fusermount3 -u


@dataclass(frozen=True)
class Client:
    name: str
    latencyfs_args: tuple[str, ...]
    model: str


CLIENTS = {
    "ossfs": Client("ossfs", ("--cache-seconds", "1"), "no stat cache, 1 s kernel cache"),
    "ossfs2": Client(
        "ossfs2", ("--cache-seconds", "60", "--readdirplus"), "readdirplus, 60 s attr cache"
    ),
}


@dataclass(frozen=True)
class Case:
    name: str
    files: int  # 0: one big file
    shards: int


FULL_CASES = (
    Case("10k files / 1k shards", 10_000, 1_000),
    Case("10k files / 10k shards", 10_000, 10_000),
    Case("100k files / 10k shards", 100_000, 10_000),
    Case("1 file / 1k shards", 0, 1_000),
    Case("1 file / 10k shards", 0, 10_000),
)
SMALL_CASES = (Case("40 files / 10 shards", 40, 10), Case("1 file / 10 shards", 0, 10))


def load_job(job_dir: Path):
    """The job's logcount module from `job_dir`, loaded under a private name."""
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(job_dir))
    spec = importlib.util.spec_from_file_location("scale_logcount", job_dir / "logcount.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    sys.path.remove(str(job_dir))
    return module


def make_inputs(source: Path, case: Case, big_size: int) -> str:
    """The case's input below `source` (cached); returns its path relative to `source`."""
    if case.files:
        relative = f"inputs/files-{case.files}"
        directory = source / relative
        if not (directory / f"{case.files - 1:06d}.log").exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            for number in range(case.files):
                lines = LINE % number * (3 + number % 9)
                (directory / f"{number:06d}.log").write_bytes(lines)
        return relative
    relative = f"inputs/big-{big_size}.log"
    path = source / relative
    if not path.exists() or path.stat().st_size != big_size:
        path.parent.mkdir(parents=True, exist_ok=True)
        block = b"".join(LINE % number for number in range(12_000))
        with open(path, "wb") as handle:
            while handle.tell() < big_size:
                handle.write(block)
            handle.truncate(big_size)
    return relative


class Mount:
    """latencyfs over `source` at `mountpoint` for one step; `stats` after it is closed."""

    def __init__(self, source: Path, mountpoint: Path, delay_ms: float, client: Client) -> None:
        self.mountpoint = mountpoint
        self.stats_path = mountpoint.with_suffix(".stats.json")
        self.stats_path.unlink(missing_ok=True)
        if os.path.ismount(mountpoint):  # left by a killed earlier run: take it down first
            subprocess.run(["fusermount3", "-u", "-z", str(mountpoint)], check=False)
            wait_unmounted(mountpoint)
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(LATENCYFS),
                str(source),
                str(mountpoint),
                "--delay-ms",
                str(delay_ms),
                "--stats",
                str(self.stats_path),
                *client.latencyfs_args,
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + MOUNT_WAIT
        while not os.path.ismount(mountpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                sys.exit(f"latencyfs did not mount: {self.process.communicate()[1].strip()}")
            time.sleep(0.05)
        self.stats: dict = {}

    def close(self) -> None:
        # The step's files may still be closing (FUSE releases are asynchronous): retry, and
        # detach lazily at last, so a busy mount never outlives the bench.
        for _ in range(50):
            done = subprocess.run(
                ["fusermount3", "-u", str(self.mountpoint)], capture_output=True, check=False
            )
            if done.returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["fusermount3", "-u", "-z", str(self.mountpoint)], check=True)
        self.process.wait(timeout=UNMOUNT_WAIT)
        wait_unmounted(self.mountpoint)
        self.stats = json.loads(self.stats_path.read_text())


def wait_unmounted(mountpoint: Path) -> None:
    """Return once nothing is mounted at `mountpoint`; exit naming it after UNMOUNT_WAIT."""
    deadline = time.monotonic() + UNMOUNT_WAIT
    while os.path.ismount(mountpoint):
        if time.monotonic() > deadline:
            sys.exit(f"{mountpoint} is still mounted after {UNMOUNT_WAIT:g} s")
        time.sleep(0.05)


def run_step(job_dir: Path, step: str, *args: str) -> tuple[float, str]:
    """(wall seconds, stdout) of one step as a process; exits naming it if it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(job_dir / f"{step}.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{step}.py {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds, done.stdout


def fill_counts(logcount, workdir: Path, local_root: str, mounted_root: str) -> None:
    """Every shard's count file, computed in-process from the local copy of each input."""
    manifest = logcount.load_manifest(str(workdir))
    matcher = logcount.Matcher(manifest.keywords, manifest.match)
    local = [
        logcount.InputFile(
            item.path.replace(mounted_root, local_root, 1),
            logcount.Identity.of(os.stat(item.path.replace(mounted_root, local_root, 1))),
        )
        for item in manifest.inputs
    ]
    for shard_id, ranges in manifest.shards.items():
        used = sorted({index for index, _, _ in ranges})
        document = {"version": logcount.FORMAT_VERSION}
        if hasattr(logcount, "job_version"):
            document["job"] = logcount.job_version()
        document.update(
            {
                "part": shard_id,
                "keywords": list(manifest.keywords),
                "match": manifest.match,
                "ranges": [list(item) for item in ranges],
                "inputs": [{"index": i, **manifest.inputs[i].to_json()} for i in used],
                **logcount.count_ranges(local, ranges, matcher),
            }
        )
        path = Path(logcount.counts_path(str(workdir), shard_id))
        path.parent.mkdir(parents=True, exist_ok=True)
        if hasattr(logcount, "count_file_bytes"):  # the job's own writer, as count.py uses it
            path.write_bytes(logcount.count_file_bytes(document))
        else:  # a job from before it (--job-dir of an older commit)
            path.write_text(json.dumps(logcount.with_digest(document), indent=1) + "\n")


def totals(stats: dict, areas) -> dict:
    picked = [value for name, value in stats.items() if any(name == a for a in areas)]
    sums = {key: sum(entry[key] for entry in picked) for key in ("meta_read", "meta_write")}
    sums.update({key: sum(entry[key] for entry in picked) for key in ("reads", "writes")})
    sums["read_bytes"] = sum(entry["read_bytes"] for entry in picked)
    sums["round_trips"] = sums["meta_read"] + sums["meta_write"] + sums["reads"] + sums["writes"]
    return sums


def run_case(
    case: Case, client: Client, job_dir: Path, logcount, delay_ms: float, big_size: int
) -> dict:
    """The case's figures; its work directories and mount are its own (SCRATCH/CLIENT)."""
    source = SCRATCH / "source"
    relative = make_inputs(source, case, big_size)
    scratch = SCRATCH / client.name
    mountpoint = scratch / f"mnt-{case.files}-{case.shards}"
    figures: dict = {}
    for where in ("local", "fuse"):
        work_name = f"work-{client.name}-{case.files}-{case.shards}-{where}"
        shutil.rmtree(source / work_name, ignore_errors=True)
        root = mountpoint if where == "fuse" else source
        workdir = root / work_name
        split_args = ["--input", str(root / relative), "--workdir", str(workdir)]
        steps = {
            "split": ("split", *split_args, "--parts", str(case.shards)),
            "count": ("count", "--workdir", str(workdir), "--part", str(case.shards // 2)),
            "merge": ("merge", "--workdir", str(workdir), "--output", str(workdir / "r.json")),
        }
        for step, (script, *args) in steps.items():
            if step == "merge":
                fill_counts(logcount, source / work_name, str(source), str(root))
            mount = Mount(source, mountpoint, delay_ms, client) if where == "fuse" else None
            try:
                seconds, stdout = run_step(job_dir, script, *args)
            finally:
                if mount is not None:
                    mount.close()
            figure = {"seconds": seconds}
            if mount is not None:
                figure["all"] = totals(mount.stats, mount.stats)
                figure["plan"] = totals(mount.stats, ["/", work_name])
                figure["counts"] = totals(mount.stats, [f"{work_name}/counts"])
                figure["inputs"] = totals(mount.stats, ["inputs"])
            if step == "split":
                figure["shards"] = len(json.loads(stdout))
            figures[(where, step)] = figure
        shutil.rmtree(source / work_name, ignore_errors=True)  # the next case starts clean
    return figures


HEADER = (
    f"  {'case':<26}{'step':<7}{'local s':>9}{'FUSE s':>9}{'round trips':>13}"
    f"{'MB read':>10}{'plan RT':>9}{'plan kB':>9}"
)


def case_rows(case: Case, figures: dict) -> list[str]:
    """The table's rows of one case: split, count and merge."""
    rows = []
    for step in ("split", "count", "merge"):
        local, fuse = figures[("local", step)], figures[("fuse", step)]
        plan = fuse["plan"]
        plan_rt = plan["meta_read"] + plan["reads"]
        rows.append(
            f"  {case.name:<26}{step:<7}{local['seconds']:9.2f}{fuse['seconds']:9.2f}"
            f"{fuse['all']['round_trips']:13,}{fuse['all']['read_bytes'] / 1e6:10.1f}"
            + (f"{plan_rt:9}{plan['read_bytes'] / 1024:9.1f}" if step == "count" else "")
        )
    return rows


def report(
    cases: list[Case], results: dict, delay_ms: float, client: Client = CLIENTS["ossfs"]
) -> list[tuple[str, bool, str]]:
    print(
        f"\nlog-count at scale, client model {client.name} ({client.model}): {delay_ms:g} ms "
        "per metadata call, read and write through latencyfs (fresh mount per step); "
        "local = the same step on local disk"
    )
    print(HEADER)
    for case in cases:
        for row in case_rows(case, results[case.name]):
            print(row)
    at = "" if delay_ms == TARGET_DELAY_MS else f" (measured at {delay_ms:g} ms, not 5)"
    targets = []

    def seconds_target(name: str, files: int, shards: int, step: str, limit: float) -> None:
        for case in cases:
            if case.files == files and case.shards == shards:
                took = results[case.name][("fuse", step)]["seconds"]
                figure = f"{took:.1f} s{at}, target <= {limit:g} s"
                targets.append((name, took <= limit, figure))

    seconds_target("split 100,000 files / 10,000 shards", 100_000, 10_000, "split", 60)
    seconds_target("split one file / 10,000 shards", 0, 10_000, "split", TARGET_SPLIT_BIG)
    for files in (10_000, 100_000):
        seconds_target(f"merge 10,000 count files ({files:,} files)", files, 10_000, "merge", 10)
    worst_rt = max(
        results[c.name][("fuse", "count")]["plan"]["meta_read"]
        + results[c.name][("fuse", "count")]["plan"]["reads"]
        for c in cases
    )
    worst_kb = max(results[c.name][("fuse", "count")]["plan"]["read_bytes"] for c in cases)
    targets.append(
        (
            "count: non-data reads per pod <= 10 round trips and <= 64 kB (worst case)",
            worst_rt <= TARGET_COUNT_ROUND_TRIPS and worst_kb <= TARGET_COUNT_BYTES,
            f"{worst_rt} round trips, {worst_kb / 1024:.1f} kB",
        )
    )
    print()
    for name, met, figure in targets:
        print(f"  {'MET   ' if met else 'MISSED'} {name}: {figure}")
    return targets


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, default=TARGET_DELAY_MS)
    parser.add_argument(
        "--client",
        nargs="+",
        choices=sorted(CLIENTS),
        default=sorted(CLIENTS),
        help="the client model(s) latencyfs plays (default: all)",
    )
    parser.add_argument("--small", action="store_true", help="tiny cases, for the tests")
    parser.add_argument("--job-dir", default=str(JOB_DIR))
    parser.add_argument("--big-size", default="1GiB", help="the one big file (default: 1GiB)")
    parser.add_argument(
        "--cases",
        nargs="*",
        help="names of the cases to run (default: all), e.g. '1 file / 1k shards'",
    )
    parser.add_argument("--scratch", default=str(DEFAULT_SCRATCH), help="where data and mounts go")
    args = parser.parse_args(argv)
    global SCRATCH
    SCRATCH = Path(args.scratch)
    job_dir = Path(args.job_dir).resolve()
    logcount = load_job(job_dir)
    cases = list(SMALL_CASES if args.small else FULL_CASES)
    if args.cases:
        unknown = set(args.cases) - {case.name for case in cases}
        if unknown:
            parser.error(f"--cases: unknown {sorted(unknown)}; known: {[c.name for c in cases]}")
        cases = [case for case in cases if case.name in args.cases]
    big_size = 1 << 20 if args.small else logcount.parse_size(args.big_size, "--big-size")
    if shutil.which("fusermount3") is None:
        sys.exit("fusermount3 is missing: install libfuse3 (Debian: apt-get install fuse3)")
    for name in args.client:
        client = CLIENTS[name]
        results = {}
        for case in cases:
            print(f"running {case.name} ({client.name}) ...", file=sys.stderr, flush=True)
            results[case.name] = run_case(case, client, job_dir, logcount, args.delay_ms, big_size)
            # Each case's rows as soon as it is done (a long run that is stopped keeps them).
            rows = case_rows(case, results[case.name])
            print("\n".join([HEADER, *rows]), file=sys.stderr, flush=True)
        report(cases, results, args.delay_ms, client)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
