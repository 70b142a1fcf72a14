"""The log-count job's modules for in-process tests, and a runner for its scripts.

The scripts import ``logcount`` from their own directory; the tests load the same module through
workflows/job.py. The step modules load under distinct names (``logcount_split`` ...) so generic
names like ``count`` never shadow anything else in the test session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from workflows.job import JOB_DIR, load

logcount = load()
split = load("split")
count = load("count")
merge = load("merge")

__all__ = [
    "JOB_DIR",
    "Interpreter",
    "count",
    "count_file",
    "find_interpreter",
    "logcount",
    "merge",
    "redigested",
    "run_step",
    "split",
]


def redigested(document: dict) -> bytes:
    """A count file of the document (its digest field, if any, left out and made anew), as
    count.py writes one: a deliberate edit that only merge's other checks can catch."""
    return logcount.count_file_bytes({k: v for k, v in document.items() if k != "digest"})


def count_file(workdir: Path, shard_id: str) -> Path:
    """Where count.py writes the shard's count file (the job's own layout, logcount.counts_path)."""
    return Path(logcount.counts_path(str(workdir), shard_id))


def run_step(
    step: str,
    *args: str,
    chunk_size: int | None = None,
    cwd: Path | None = None,
    python: Interpreter | None = None,
):
    """Run ``python <step>.py args`` like a container would; returns the CompletedProcess.

    `python` is another interpreter to run it with; default: this test's own.
    """
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop(logcount.CHUNK_SIZE_ENV, None)
    if chunk_size is not None:
        env[logcount.CHUNK_SIZE_ENV] = str(chunk_size)
    executable = sys.executable
    if python is not None:
        executable = python.path
        env.update(python.env)
    return subprocess.run(
        [executable, str(JOB_DIR / f"{step}.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


@dataclass(frozen=True)
class Interpreter:
    """A Python found on PATH, with the environment it needs to run (pyenv's version)."""

    path: str
    env: dict[str, str]


def find_interpreter(name: str) -> Interpreter | str:
    """The working interpreter `name` (e.g. python3.10), or why there is none.

    A pyenv shim on PATH runs only in an active pyenv version; when it refuses, the newest
    installed version that provides the command (`pyenv whence`) is selected for it.
    """
    path = shutil.which(name)
    if path is None:
        return f"{name} is not on PATH"
    candidates = [{}]
    if shutil.which("pyenv") is not None:
        whence = subprocess.run(
            ["pyenv", "whence", name], capture_output=True, text=True, check=False
        )
        candidates += [{"PYENV_VERSION": version} for version in whence.stdout.split()[::-1]]
    problem = ""
    for extra in candidates:
        probe = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            env={**os.environ, **extra},
            check=False,
        )
        if probe.returncode == 0:
            return Interpreter(path, extra)
        problem = problem or (probe.stderr.strip().splitlines() or ["no output"])[0]
    return f"{name} at {path} does not run: {problem}"


def run_ok(step: str, *args: str, **options) -> object:
    """Run a step that must succeed; returns its stdout parsed as JSON."""
    done = run_step(step, *args, **options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_job(
    input_path: Path,
    workdir: Path,
    *split_args: str,
    chunk_size: int | None = None,
    python: Interpreter | None = None,
):
    """split, every count, merge through the scripts; returns (shard ids, merge result)."""
    ids = run_ok(
        "split", "--input", str(input_path), "--workdir", str(workdir), *split_args, python=python
    )
    for shard_id in ids:
        run_ok(
            "count",
            "--workdir",
            str(workdir),
            "--part",
            shard_id,
            chunk_size=chunk_size,
            python=python,
        )
    result = run_ok(
        "merge", "--workdir", str(workdir), "--output", str(workdir / "result.json"), python=python
    )
    return ids, result
