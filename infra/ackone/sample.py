"""The sample input uploaded to a new OSS bucket (`storage.oss.sampleInputSize`).

The log is made by the job's own generator (workflows/log-count/generate.py, run as the CLI it
is), with a fixed seed, so the same size always gives the same bytes and the same expected
counts. Both are kept under the stack's data directory and reused, so `pulumi preview` and `up`
generate at most once per size.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config import REPO_ROOT
from workflows.chart import LOG_COUNT_CHART, merge_values

GENERATE = REPO_ROOT / "workflows" / "log-count" / "generate.py"
SEED = 1


@dataclass(frozen=True)
class SampleInput:
    """A generated log (local file) and the object key it is uploaded as, with its counts."""

    source: str
    key: str
    expected_counts: str  # generate.py's JSON: exact counts in both match modes, bytes, lines


def input_key(workload_values: Mapping[str, Any]) -> str:
    """The chart's default input path (`job.input`), after the stack's workload.values."""
    defaults = yaml.safe_load((LOG_COUNT_CHART / "values.yaml").read_text())
    return merge_values(defaults, workload_values)["job"]["input"]


def sample_input(data_dir: Path, size: int, key: str) -> SampleInput:
    """Generate (or reuse) a `size`-byte sample log under `data_dir` for object `key`."""
    log = data_dir / f"sample-input-{size}-seed{SEED}.log"
    expected = log.with_suffix(".expected.json")
    if not (log.is_file() and expected.is_file()):
        _generate(log, expected, size)
    return SampleInput(source=str(log), key=key, expected_counts=expected.read_text())


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
