"""The log-count job's modules for in-process tests, and a runner for its scripts.

The scripts import ``logcount`` from their own directory; the tests do the same by putting that
directory on ``sys.path``. The step modules load under distinct names (``logcount_split`` ...)
so generic names like ``count`` never shadow anything else in the test session.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

JOB_DIR = Path(__file__).resolve().parents[2] / "workflows" / "log-count"
if str(JOB_DIR) not in sys.path:
    sys.path.insert(0, str(JOB_DIR))


def _load(step: str):
    spec = importlib.util.spec_from_file_location(f"logcount_{step}", JOB_DIR / f"{step}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# No byte-code caches next to the job's sources (the chart ships that directory).
_writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
try:
    import logcount

    split = _load("split")
    count = _load("count")
    merge = _load("merge")
finally:
    sys.dont_write_bytecode = _writes_bytecode

__all__ = ["JOB_DIR", "count", "logcount", "merge", "run_step", "split"]


def run_step(step: str, *args: str, chunk_size: int | None = None, cwd: Path | None = None):
    """Run ``python <step>.py args`` like a container would; returns the CompletedProcess."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop(logcount.CHUNK_SIZE_ENV, None)
    if chunk_size is not None:
        env[logcount.CHUNK_SIZE_ENV] = str(chunk_size)
    return subprocess.run(
        [sys.executable, str(JOB_DIR / f"{step}.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def run_ok(step: str, *args: str, **options) -> object:
    """Run a step that must succeed; returns its stdout parsed as JSON."""
    done = run_step(step, *args, **options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_job(input_path: Path, workdir: Path, *split_args: str, chunk_size: int | None = None):
    """split, every count, merge through the scripts; returns (shard ids, merge result)."""
    ids = run_ok("split", "--input", str(input_path), "--workdir", str(workdir), *split_args)
    for shard_id in ids:
        run_ok("count", "--workdir", str(workdir), "--part", shard_id, chunk_size=chunk_size)
    result = run_ok("merge", "--workdir", str(workdir), "--output", str(workdir / "result.json"))
    return ids, result
