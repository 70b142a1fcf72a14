"""Generate charts/<chart>/README.md from the `# --` comments of values.yaml (helm-docs style).

A `# --` comment documents the key right below it; further `#` lines directly below continue it.
A documented map documents its whole subtree (e.g. `resources.split`), unless its keys have
comments of their own, which then get rows too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workflows.chart import PLATFORM_CHART, job_chart_dirs

# The hand-written part of each chart's README, tests/chart/intros/<chart>.md; `{version}`
# becomes the chart version.
INTRO_DIR = Path(__file__).resolve().parent / "intros"


def documented_charts() -> list[Path]:
    """The charts whose README is generated: the platform and every job chart."""
    return [PLATFORM_CHART, *job_chart_dirs()]


_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?:\s|$)")
_COMMENT = re.compile(r"^ *#(?P<text>.*)$")
_DOC_START = "--"


@dataclass(frozen=True)
class ValueDoc:
    """One documented key: its dotted path and description."""

    path: str
    description: str


def value_docs(text: str) -> list[ValueDoc]:
    """The documented keys of a values.yaml text, in file order."""
    docs = []
    parents: list[tuple[int, str]] = []  # (indent, key) of the maps enclosing the current line
    comment: list[str] | None = None  # the `# --` block being read, None outside one
    for line in text.splitlines():
        if match := _COMMENT.match(line):
            body = match["text"].strip()
            if body.startswith(_DOC_START):
                comment = [body.removeprefix(_DOC_START).strip()]
            elif comment is not None:
                comment.append(body)
            continue
        match = _KEY.match(line)
        if match is None:
            comment = None  # a blank line or a list item ends a comment block
            continue
        indent = len(match["indent"])
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = ".".join([*(key for _, key in parents), match["key"]])
        parents.append((indent, match["key"]))
        if comment is not None:
            docs.append(ValueDoc(path, " ".join(part for part in comment if part)))
        comment = None
    return docs


def leaf_paths(values: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every value that is not a non-empty map (those are documented)."""
    if isinstance(values, dict) and values:
        paths = []
        for key, child in values.items():
            paths += leaf_paths(child, f"{prefix}.{key}" if prefix else str(key))
        return paths
    return [prefix]


def undocumented(text: str) -> list[str]:
    """Leaf keys of values.yaml with no `# --` comment on them or on a map enclosing them."""
    documented = {doc.path for doc in value_docs(text)}
    return [
        path
        for path in leaf_paths(yaml.safe_load(text))
        if not any(path == doc or path.startswith(doc + ".") for doc in documented)
    ]


def lookup(values: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        values = values[key]
    return values


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def values_table(text: str) -> str:
    values = yaml.safe_load(text)
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for doc in value_docs(text):
        value = lookup(values, doc.path)
        default = json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("|", "\\|")
        description = doc.description.replace("|", "\\|")
        rows.append(f"| `{doc.path}` | {type_name(value)} | `{default}` | {description} |")
    return "\n".join(rows)


def render_readme(chart: Path, text: str, chart_version: str) -> str:
    intro = (INTRO_DIR / f"{chart.name}.md").read_text().replace("{version}", chart_version)
    return intro + values_table(text) + "\n"


def expected_readme(chart: Path) -> str:
    version = yaml.safe_load((chart / "Chart.yaml").read_text())["version"]
    return render_readme(chart, (chart / "values.yaml").read_text(), version)


def write_readme(chart: Path) -> Path:
    path = chart / "README.md"
    path.write_text(expected_readme(chart))
    return path
