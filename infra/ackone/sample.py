"""The sample input uploaded to a new OSS bucket (`storage.oss.sampleInputSize`).

The log is made by the job's own generator (charts/log-count/files/log-count/generate.py, run as
the CLI it is), with a fixed seed, so the same size always gives the same bytes and the same
expected counts. Both are kept under the stack's data directory and reused, so they are
generated at most once per size, and only by `pulumi up`: a preview writes nothing (the counts
show as unknown until the update), and infra/config.py bounds the size.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.output import UNKNOWN

from infra.config import REPO_ROOT, JobConfig, chart_defaults
from workflows.chart import merge_values
from workflows.job import JOB_DIR

GENERATE = JOB_DIR / "generate.py"
SEED = 1


@dataclass(frozen=True)
class SampleInput:
    """A generated log (local file) and the object key it is uploaded as, with its counts."""

    source: str  # relative to the project directory, where Pulumi runs the providers
    key: str
    # generate.py's JSON: exact counts in both match modes, bytes, lines (unknown in a preview
    # that has not generated the file yet)
    expected_counts: pulumi.Input[str]


def input_key(job: JobConfig) -> str:
    """The log-count job's default input path (`job.input`): its chart's, after its values."""
    return merge_values(chart_defaults(job.chart), job.values)["job"]["input"]


def sample_input(data_dir: Path, size: int, key: str, *, dry_run: bool) -> SampleInput:
    """Generate (or reuse) a `size`-byte sample log under `data_dir` for object `key`.

    With `dry_run` (`pulumi preview`, `pulumi.runtime.is_dry_run()`) nothing is generated.
    """
    log = data_dir / f"sample-input-{size}-seed{SEED}.log"
    expected = log.with_suffix(".expected.json")
    # Relative: an absolute path would differ per checkout and show as a change of the object.
    source = os.path.relpath(log, REPO_ROOT)
    if not (log.is_file() and expected.is_file()):
        if dry_run:
            return SampleInput(
                source=source, key=key, expected_counts=pulumi.Output.from_input(UNKNOWN)
            )
        _generate(log, expected, size)
    return SampleInput(source=source, key=key, expected_counts=expected.read_text())


def _generate(log: Path, expected: Path, size: int) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    # Written under temporary names and renamed: an interrupted run leaves nothing to reuse.
    partial_log = log.with_name(f".{log.name}.{os.getpid()}")
    partial_expected = expected.with_name(f".{expected.name}.{os.getpid()}")
    command = [
        sys.executable,
        str(GENERATE),
        "--output",
        str(partial_log),
        "--size",
        str(size),
        "--seed",
        str(SEED),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial_log.unlink(missing_ok=True)
        raise RuntimeError(
            f"storage.oss.sampleInputSize: generating the {size}-byte sample input failed "
            f"(exit {result.returncode}): {result.stderr.strip()}"
        )
    partial_expected.write_text(result.stdout)
    os.replace(partial_log, log)
    os.replace(partial_expected, expected)
