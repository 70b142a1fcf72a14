"""The latency bench (bench/scale.py over bench/latencyfs.py): its code on a tiny case.

No figure is asserted (times mean nothing on a shared machine); the run must complete, show
every step of every case and judge every target it can.
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


def fuse_missing() -> str:
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("fusermount3") is None or ctypes.util.find_library("fuse3") is None:
        return "libfuse3 is not installed (apt-get install fuse3)"
    if os.geteuid() != 0:
        return "mounting needs root here"
    return ""


def test_calls_are_filed_by_area():
    pytest.importorskip("mfusepy", reason="mfusepy (requirements-dev.txt) is not installed")
    if ctypes.util.find_library("fuse3") is None:
        pytest.skip("libfuse3 is not installed (apt-get install fuse3)")
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
    judged = {name: met for name, met, _ in scale.report(cases, results, 5.0)}
    assert judged == {
        "split 100,000 files / 10,000 shards": True,
        "split one file / 10,000 shards": False,
        "merge 10,000 count files (100,000 files)": False,
        "count: non-data reads per pod <= 10 round trips and <= 64 kB (worst case)": False,
    }
    out = capsys.readouterr().out
    assert "MISSED split one file / 10,000 shards: 10.5 s, target <= 10 s" in out
    assert "MET    split 100,000 files" in out


def test_small_run_over_fuse(tmp_path):
    missing = fuse_missing()
    if missing:
        pytest.skip(missing)
    pytest.importorskip("mfusepy", reason="mfusepy (requirements-dev.txt) is not installed")
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
    rows = [line.split() for line in done.stdout.splitlines()]
    for case in ("40 files / 10 shards", "1 file / 10 shards"):
        for step in ("split", "count", "merge"):
            (row,) = [
                line
                for line in done.stdout.splitlines()
                if line.strip().startswith(case) and f" {step} " in line
            ]
            figures = row.split(step, 1)[1].split()
            assert len(figures) == (6 if step == "count" else 4), row
            assert int(figures[2].replace(",", "")) > 0  # the mount served round trips
    assert any(row[:1] == ["MET"] or row[:1] == ["MISSED"] for row in rows)
    assert "count: non-data reads per pod" in done.stdout
    assert not os.path.ismount(tmp_path / "mnt")
