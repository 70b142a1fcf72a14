"""The latency bench (bench/scale.py over bench/latencyfs.py): its code on a tiny case.

No figure is asserted (times mean nothing on a shared machine); the run must complete, show
every step of every case for both client models and judge every target it can.

Where FUSE is missing the FUSE tests skip, saying why, unless ARGO_FANOUT_FUSE_REQUIRED=1
(.ci/run sets it where /dev/fuse exists, after bench/install-deps.sh): then they fail instead,
so CI cannot pass without having run the bench.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


REQUIRED_ENV = "ARGO_FANOUT_FUSE_REQUIRED"


def fuse_missing() -> str:
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("fusermount3") is None or ctypes.util.find_library("fuse3") is None:
        return "libfuse3 is not installed (bench/install-deps.sh, or apt-get install fuse3)"
    if importlib.util.find_spec("mfusepy") is None:
        return "mfusepy (requirements-dev.txt) is not installed"
    if os.geteuid() != 0:
        return "mounting needs root here"
    return ""


def require_fuse(missing: str) -> None:
    """Skip naming what is missing, or fail when the environment says FUSE must be there."""
    if not missing:
        return
    if os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{REQUIRED_ENV}=1 but FUSE is unusable here: {missing}")
    pytest.skip(missing)


def test_a_missing_fuse_fails_when_required_and_skips_otherwise(monkeypatch):
    monkeypatch.setenv(REQUIRED_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="FUSE is unusable here: no /dev/fuse"):
        require_fuse("no /dev/fuse")
    monkeypatch.delenv(REQUIRED_ENV)
    with pytest.raises(pytest.skip.Exception, match="no /dev/fuse"):
        require_fuse("no /dev/fuse")
    require_fuse("")  # usable: neither


def test_calls_are_filed_by_area():
    require_fuse(fuse_missing())
    latencyfs = load("latencyfs")
    assert latencyfs.area("/") == "/"
    assert latencyfs.area("/inputs/files-10/000001.log") == "inputs"
    assert latencyfs.area("/work-1/shards.idx") == "work-1"
    assert latencyfs.area("/work-1/counts/7.json") == "work-1/counts"
    assert latencyfs.area("/work-1/counts") == "work-1/counts"


def test_targets_are_judged_from_the_figures(capsys):
    scale = load("scale")

    def figures(split: float, merge: float, plan_reads: int, plan_bytes: int) -> dict:
        zero = {
            "meta_read": 0,
            "meta_write": 0,
            "reads": 0,
            "writes": 0,
            "read_bytes": 0,
            "round_trips": 0,
        }
        plan = {**zero, "meta_read": plan_reads - 3, "reads": 3, "read_bytes": plan_bytes}
        result = {}
        for where in ("local", "fuse"):
            for step, seconds in (("split", split), ("count", 0.1), ("merge", merge)):
                result[(where, step)] = {"seconds": seconds, "all": zero, "plan": plan}
        return result

    cases = [
        scale.Case("100k files / 10k shards", 100_000, 10_000),
        scale.Case("1 file", 0, 10_000),
    ]
    results = {
        cases[0].name: figures(split=59.0, merge=11.0, plan_reads=8, plan_bytes=5000),
        cases[1].name: figures(split=10.5, merge=2.0, plan_reads=11, plan_bytes=5000),
    }
    judged = {
        name: met for name, met, _ in scale.report(cases, results, 5.0, scale.CLIENTS["ossfs2"])
    }
    assert judged == {
        "split 100,000 files / 10,000 shards": True,
        "split one file / 10,000 shards": False,
        "merge 10,000 count files (100,000 files)": False,
        "count: non-data reads per pod <= 10 round trips and <= 64 kB (worst case)": False,
    }
    out = capsys.readouterr().out
    assert "client model ossfs2 (readdirplus, 60 s attr cache)" in out
    assert "MISSED split one file / 10,000 shards: 10.5 s, target <= 10 s" in out
    assert "MET    split 100,000 files" in out


def test_small_run_over_fuse(tmp_path):
    require_fuse(fuse_missing())
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "scale.py"),
            "--small",
            "--delay-ms=0.5",
            f"--scratch={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    tables = done.stdout.split("log-count at scale, client model ")[1:]
    assert [table.split(" ", 1)[0] for table in tables] == ["ossfs", "ossfs2"]
    for table in tables:
        rows = [line.split() for line in table.splitlines()]
        for case in ("40 files / 10 shards", "1 file / 10 shards"):
            for step in ("split", "count", "merge"):
                (row,) = [
                    line
                    for line in table.splitlines()
                    if line.strip().startswith(case) and f" {step} " in line
                ]
                figures = row.split(step, 1)[1].split()
                assert len(figures) == (6 if step == "count" else 4), row
                assert int(figures[2].replace(",", "")) > 0  # the mount served round trips
        assert any(row[:1] == ["MET"] or row[:1] == ["MISSED"] for row in rows)
        assert "count: non-data reads per pod" in table
    # Every case had its own mount and work directories, all gone afterwards.
    mountpoints = sorted(path.name for path in tmp_path.glob("*/mnt-*") if path.is_dir())
    assert mountpoints == sorted(f"mnt-{n}-10" for n in (40, 0) for _ in ("ossfs", "ossfs2"))
    assert not any(
        os.path.ismount(tmp_path / c / m) for c in ("ossfs", "ossfs2") for m in mountpoints
    )
    assert not list((tmp_path / "source").glob("work-*"))


def test_the_ossfs2_model_lists_with_attributes_and_caches_them(tmp_path):
    # ossfs 2.0 (readdirplus, attr_timeout 60): after one listing, the lookups of the names
    # listed cost no round trip; the ossfs model pays one per name.
    require_fuse(fuse_missing())
    scale = load("scale")
    source = tmp_path / "source"
    (source / "flat").mkdir(parents=True)
    for number in range(30):
        (source / "flat" / f"{number}.log").write_bytes(b"x\n")
    lookups = {}
    for name, client in scale.CLIENTS.items():
        mount = scale.Mount(source, tmp_path / f"mnt-{name}", 0.0, client)
        try:
            names = os.listdir(mount.mountpoint / "flat")
            for item in names:
                os.stat(mount.mountpoint / "flat" / item)
        finally:
            mount.close()
        assert len(names) == 30
        lookups[name] = mount.stats["flat"]["meta_read"]
    assert lookups["ossfs"] >= 30 + 1  # a lookup per name, and the listing
    assert lookups["ossfs2"] <= 3  # the directory, its listing


def test_merge_lists_rather_than_looks_up_where_listings_carry_attributes(tmp_path):
    """Over the ossfs 2.0 model (readdirplus), merge's check of 40 inputs in one directory and
    its reads of 10 count files cost listings, not a lookup per file: the kernel sends the
    lookups of one directory one at a time, so at 10,000 files those were most of merge's time."""
    require_fuse(fuse_missing())
    scale = load("scale")
    scale.SCRATCH = tmp_path
    case = scale.Case("40 files / 10 shards", 40, 10)
    logcount = scale.load_job(scale.JOB_DIR)
    figures = scale.run_case(case, scale.CLIENTS["ossfs2"], scale.JOB_DIR, logcount, 0.0, 0)
    merge = figures[("fuse", "merge")]
    # A lookup of `inputs` and of its `files-40`, and one listing of it.
    assert merge["inputs"]["meta_read"] <= 3, merge["inputs"]
    buckets = len({logcount.counts_path("w", str(shard)) for shard in range(case.shards)})
    # A lookup and a listing of `counts`, a listing per count directory and an open per count
    # file; no lookups of either.
    assert merge["counts"]["meta_read"] <= 2 + buckets + case.shards, merge["counts"]
    assert merge["counts"]["reads"] == case.shards
