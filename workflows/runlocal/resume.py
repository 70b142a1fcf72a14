"""What `run-local --resume` needs of an earlier run: its record in the volume directory.

Every run in a volume directory that outlives it (`--volume-dir`, or `--keep`) is recorded,
before its first task starts, in `VOLUME/.run-local/<workflow name>.json`: the chart, the user's
values and every workflow parameter's value (the input as placed in the volume). A resumed run
renders the same chart with the same values and runs the template again under the same workflow
name, so its steps find the earlier run's work directory (`runs/<name>/` for log-count) as they
left it. What a step does with work already there is the step's business: log-count's count
exits at once when its count file is intact for the same shard, input and settings, so only the
missing and failed shards are counted again, as after Argo's retry on a cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.runlocal.engine import RunError

# The volume directory's sub-directory that holds one record per run.
RECORDS_DIR = ".run-local"
RECORD_VERSION = 1


@dataclass(frozen=True)
class RunRecord:
    name: str  # the workflow name, e.g. log-count-local-x7k2p
    chart: Path
    values: dict[str, Any]
    parameters: dict[str, str]  # every workflow parameter's value, the input as placed

    def save(self, volume_dir: Path) -> Path:
        """Write the record atomically (a reader never sees half of it); return its path."""
        path = record_path(volume_dir, self.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "version": RECORD_VERSION,
            "name": self.name,
            "chart": str(self.chart.resolve()),
            "values": self.values,
            "parameters": self.parameters,
        }
        try:
            text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        except TypeError as error:  # a value YAML typed beyond JSON, e.g. a date
            raise RunError(f"the run's values cannot be recorded for --resume: {error}") from None
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text)
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, path: Path) -> RunRecord:
        try:
            document = json.loads(path.read_text())
        except OSError as error:
            raise RunError(
                f"--resume: cannot read the run record {path}: {error.strerror}"
            ) from None
        except ValueError as error:
            raise RunError(f"--resume: the run record {path} is not JSON: {error}") from None
        if not isinstance(document, Mapping) or document.get("version") != RECORD_VERSION:
            raise RunError(
                f"--resume: {path} is not a run record of this run-local (version "
                f"{RECORD_VERSION}): start a new run instead"
            )
        try:
            return cls(
                name=str(document["name"]),
                chart=Path(document["chart"]),
                values=dict(document["values"]),
                parameters={str(key): str(value) for key, value in document["parameters"].items()},
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise RunError(f"--resume: the run record {path} is incomplete ({error})") from None


def record_path(volume_dir: Path, name: str) -> Path:
    return volume_dir / RECORDS_DIR / f"{name}.json"


def find(directory: Path) -> tuple[Path, RunRecord]:
    """The volume directory and the run to resume, from `--resume DIR`.

    DIR is the volume directory of earlier runs (the latest recorded one is resumed), a run's
    own directory in it named after the workflow (log-count's `VOLUME/runs/<name>`), or the
    run's record (`VOLUME/.run-local/<name>.json`, which a failed run prints).
    """
    if directory.is_file() and directory.parent.name == RECORDS_DIR:
        return directory.parent.parent.resolve(), RunRecord.load(directory)
    if not directory.is_dir():
        raise RunError(f"--resume {directory}: no such directory")
    directory = directory.resolve()
    records = directory / RECORDS_DIR
    if records.is_dir():
        found = sorted(records.glob("*.json"), key=lambda path: path.stat().st_mtime_ns)
        if not found:
            raise RunError(f"--resume {directory}: {records} records no run")
        return directory, RunRecord.load(found[-1])
    for volume in directory.parents:
        record = volume / RECORDS_DIR / f"{directory.name}.json"
        if record.is_file():
            return volume, RunRecord.load(record)
    raise RunError(
        f"--resume {directory}: no run-local run is recorded for it; give the --volume-dir of "
        f"an earlier run (runs are recorded in VOLUME/{RECORDS_DIR}/ when the volume directory "
        "is kept: --volume-dir or --keep) or its work directory, e.g. VOLUME/runs/<name>"
    )
