"""Render a Helm chart offline with Helm's own Go SDK (helm-python-sdk), as `helm template` does."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import helm_python
import yaml

from common.paths import REPO_ROOT

CHARTS_DIR = REPO_ROOT / "charts"
# The library chart every job chart (and the platform chart) declares in Chart.yaml
# `dependencies` (repository file://../fanout-lib), and the chart rendered once per namespace.
LIBRARY_CHART = CHARTS_DIR / "fanout-lib"
PLATFORM_CHART = CHARTS_DIR / "platform"
LOG_COUNT_CHART = CHARTS_DIR / "log-count"
# The platform chart's ConfigMap key holding the `platform` values block of the job charts.
PLATFORM_VALUES_KEY = "values.yaml"
# Where assemble_chart puts a chart with its file:// dependencies (gitignored): .charts/<name>
# for the charts under charts/, so the path the Pulumi program gives its Releases is the same on
# every run and in every checkout.
ASSEMBLED_DIR = REPO_ROOT / ".charts"
# A chart's own charts/ and Chart.lock: what `helm dependency build` writes into it. Left out of
# the assembled copy, whose charts/ holds exactly the declared dependencies, freshly copied.
BUILT_BY_HELM = ("charts", "Chart.lock")
# Never part of a chart (and so of no digest): Python's leftovers next to job scripts.
NOT_CHART_FILES = ("__pycache__", "*.pyc")
# Helm's loader logs this (Go's default logger, straight to fd 2) for every symlink it follows;
# the repository has none, but a user's chart may, and the line would be noise on every run.
SYMLINK_NOTICE = re.compile(rb"^\S+ \S+ INFO found symbolic link in path\.")


class ChartDependencyError(ValueError):
    """A chart's Chart.yaml `dependencies` cannot be assembled from local directories."""


def assemble_chart(chart_dir: str | Path) -> Path:
    """The chart at `chart_dir` with its dependencies in its charts/ directory, as `helm
    dependency build` would leave it, but without writing into the source tree.

    Every dependency must be a chart directory reached through `repository: file://<path>`
    (relative to the chart, as Helm resolves it) whose Chart.yaml has the declared name and
    version. The copy lives at .charts/<name> for the charts under charts/ (else at
    .charts/<name>-<digest of the source path>), a path that stays the same across runs; it is
    rebuilt, under a lock and by an atomic rename, only when a source file changed. A chart
    without dependencies is returned as it is.
    """
    source = Path(chart_dir).resolve()
    dependencies = chart_dependencies(source)
    if not dependencies:
        return source
    if source.parent == CHARTS_DIR.resolve():
        key = source.name
    else:
        key = f"{source.name}-{hashlib.sha256(str(source).encode()).hexdigest()[:8]}"
    target = ASSEMBLED_DIR / key
    # A dependency's own dependencies are assembled first (a library has none).
    assembled = {name: assemble_chart(directory) for name, directory in dependencies.items()}
    fingerprint = sources_digest([source, *assembled.values()])
    stamp = ASSEMBLED_DIR / f".{key}.sources"
    ASSEMBLED_DIR.mkdir(exist_ok=True)
    with open(ASSEMBLED_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir() and stamp.is_file() and stamp.read_text() == fingerprint:
            return target
        building = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=ASSEMBLED_DIR))
        try:
            chart = building / "chart"
            shutil.copytree(
                source, chart, ignore=ignore_in(source, (*BUILT_BY_HELM, *NOT_CHART_FILES))
            )
            for name, dependency in assembled.items():
                shutil.copytree(
                    dependency,
                    chart / "charts" / name,
                    ignore=shutil.ignore_patterns(*NOT_CHART_FILES),
                )
            if target.exists():
                target.rename(building / "old")
            chart.rename(target)
            stamp.write_text(fingerprint)
        finally:
            shutil.rmtree(building)
    return target


def chart_dependencies(chart_dir: Path) -> dict[str, Path]:
    """The chart's Chart.yaml `dependencies` as {name: source directory}, each checked."""
    meta_path = chart_dir / "Chart.yaml"
    meta = yaml.safe_load(meta_path.read_text()) or {}
    found: dict[str, Path] = {}
    for index, entry in enumerate(meta.get("dependencies") or []):
        where = f"{meta_path}: dependencies[{index}]"
        repository = str(entry.get("repository", ""))
        if not repository.startswith("file://"):
            raise ChartDependencyError(
                f"{where}.repository: {repository!r} is not a file:// path; only local "
                "chart directories are assembled (run `helm dependency build` for others)"
            )
        directory = (chart_dir / repository.removeprefix("file://")).resolve()
        if not (directory / "Chart.yaml").is_file():
            raise ChartDependencyError(f"{where}.repository: {directory} holds no Chart.yaml")
        declared = yaml.safe_load((directory / "Chart.yaml").read_text()) or {}
        for field in ("name", "version"):
            if str(declared.get(field)) != str(entry.get(field)):
                raise ChartDependencyError(
                    f"{where}.{field}: {entry.get(field)!r}, but {directory}/Chart.yaml says "
                    f"{declared.get(field)!r}; they must be equal"
                )
        found[str(entry.get("alias") or entry["name"])] = directory
    return found


def ignore_in(root: Path, top_level: tuple[str, ...]) -> Callable[[str, list[str]], set[str]]:
    """shutil.copytree's ignore: `top_level` names directly under `root`, NOT_CHART_FILES
    anywhere."""
    anywhere = shutil.ignore_patterns(*NOT_CHART_FILES)

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = set(anywhere(directory, names))
        if Path(directory) == root:
            ignored |= {name for name in names if name in top_level}
        return ignored

    return ignore


def sources_digest(directories: Iterable[Path]) -> str:
    """SHA-256 over the paths and contents of every chart file under `directories`."""
    digest = hashlib.sha256()
    for root in directories:
        digest.update(str(root).encode() + b"\0\0")
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".pyc"):
                    continue
                path = Path(directory, name)
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def job_chart_dirs() -> list[Path]:
    """Every job chart under charts/: all chart directories but the library and the platform."""
    return sorted(
        path.parent
        for path in CHARTS_DIR.glob("*/Chart.yaml")
        if path.parent not in (LIBRARY_CHART, PLATFORM_CHART)
    )


def platform_block(objects: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The `platform` values block a rendered platform release publishes for its job charts."""
    for obj in objects:
        if obj["kind"] == "ConfigMap" and PLATFORM_VALUES_KEY in obj.get("data", {}):
            return yaml.safe_load(obj["data"][PLATFORM_VALUES_KEY])
    raise ValueError("the platform release rendered no ConfigMap with its values block")


def platform_values_block(
    platform_values: Mapping[str, Any], *, release: str, namespace: str
) -> dict[str, Any]:
    """The `platform` values block (`{"platform": {...}}`) the platform chart publishes when
    installed with `platform_values` as release `release` into `namespace`."""
    objects = render_chart(PLATFORM_CHART, platform_values, release=release, namespace=namespace)
    return platform_block(objects)


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two values maps the way Helm layers -f files and --set: maps merge, rest wins."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def user_values(
    values_files: Iterable[str | Path] = (), set_expressions: Iterable[str] = ()
) -> dict[str, Any]:
    """Values from -f files then --set expressions, later ones winning, as the helm CLI does."""
    values: dict[str, Any] = {}
    for path in values_files:
        values = merge_values(values, helm_python.values_from_yaml(Path(path).read_text()))
    for expression in set_expressions:
        values = merge_values(values, helm_python.parse_set_string(expression))
    return values


def load_chart(chart_dir: str | Path) -> helm_python.Chart:
    """helm_python.Chart.load of the assembled chart (`assemble_chart`: its file://
    dependencies in place), minus Helm's symlink notices; its other stderr output passes on."""
    chart_dir = assemble_chart(chart_dir)
    sys.stderr.flush()  # what Python already wrote stays before Helm's output
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            return helm_python.Chart.load(str(chart_dir))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            os.write(2, without_symlink_notices(captured.read()))


def without_symlink_notices(stderr: bytes) -> bytes:
    lines = stderr.splitlines(keepends=True)
    return b"".join(line for line in lines if not SYMLINK_NOTICE.match(line))


def render_chart(
    chart_dir: str | Path, values: Mapping[str, Any], *, release: str, namespace: str
) -> list[dict[str, Any]]:
    """Render every template of the chart and return the Kubernetes objects, in template order.

    Raises helm_python.HelmError subclasses for bad values (schema), failed templates and `fail`.
    """
    chart = load_chart(chart_dir)
    try:
        manifests = chart.render(dict(values), name=release, namespace=namespace, is_install=True)
    finally:
        chart.close()
    objects = []
    for template in sorted(manifests):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt and helpers render to text, not objects
        objects += [doc for doc in yaml.safe_load_all(manifests[template]) if doc]
    return objects
