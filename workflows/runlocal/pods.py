"""Turn one container template into a local process: volumes to directories, paths rewritten."""

from __future__ import annotations

import base64
import copy
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.runlocal.variables import TAG

# The container's interpreter names: run with this machine's Python (or a stand-in, in tests).
PYTHON_COMMANDS = ("python", "python3")


class VolumeError(ValueError):
    """A volume cannot be mapped to a local directory; the message names it."""


def write_config_maps(
    config_maps: Mapping[str, Mapping[str, Any]], directory: Path
) -> dict[str, Path]:
    """Write each ConfigMap's data and binaryData as files, one directory per ConfigMap."""
    written = {}
    for name, config_map in config_maps.items():
        target = directory / name
        target.mkdir(parents=True)
        for key, text in (config_map.get("data") or {}).items():
            (target / key).write_text(text)
        for key, encoded in (config_map.get("binaryData") or {}).items():
            (target / key).write_bytes(base64.b64decode(encoded))
        written[name] = target
    return written


@dataclass(frozen=True)
class Volumes:
    """Where each kind of volume lives on this machine."""

    claims: Mapping[str, Path]  # PVC claimName → directory
    config_maps: Mapping[str, Path]  # ConfigMap name → directory of its written files

    def check(self, volumes: list[Mapping[str, Any]], path: str) -> None:
        """Raise VolumeError for a volume that names an unknown claim or ConfigMap."""
        for index, volume in enumerate(volumes):
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                if claim not in self.claims:
                    raise VolumeError(
                        f"{path}[{index}] ({volume['name']}): claim {claim!r} has no local "
                        f"directory (known claims: {', '.join(sorted(self.claims)) or 'none'})"
                    )
            elif "configMap" in volume:
                name = volume["configMap"]["name"]
                if name not in self.config_maps:
                    raise VolumeError(
                        f"{path}[{index}] ({volume['name']}): ConfigMap {name!r} is not among "
                        f"the rendered objects ({', '.join(sorted(self.config_maps)) or 'none'})"
                    )
                for item in volume["configMap"].get("items") or []:
                    if not (self.config_maps[name] / item["key"]).is_file():
                        raise VolumeError(
                            f"{path}[{index}] ({volume['name']}): ConfigMap {name!r} has no "
                            f"key {item['key']!r}"
                        )
            elif "emptyDir" not in volume:
                raise VolumeError(f"{path}[{index}] ({volume['name']}) has no volume source")


@dataclass
class Launch:
    """Everything needed to start one attempt of a container as a local process."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    stdout: Path
    stderr: Path
    output_paths: dict[str, Path]  # output parameter name → local file


class CommandNotFoundError(FileNotFoundError):
    """The container's command is not on PATH (in a cluster: Argo's emissary cannot run it)."""


def prepare(
    template: Mapping[str, Any],
    workflow_volumes: list[Mapping[str, Any]],
    volumes: Volumes,
    pod_dir: Path,
    python: str,
) -> Launch:
    """Lay out pod_dir for one attempt and return the local command for the container.

    Each mountPath maps to a local directory: the PVC's directory, the ConfigMap's files (a
    subset at other paths when `items` is given), or a fresh directory for an emptyDir. The
    paths mark_paths marked (under a mountPath in the template's own command, args, env values,
    workingDir and output paths) are rewritten; nothing else is.
    A ConfigMap (which the kubelet always mounts read-only) and a `readOnly` mount become
    read-only (files 0444, directories 0555), so a step writing there fails here too.
    """
    container = template["container"]
    declared = {volume["name"]: volume for volume in workflow_volumes}
    declared.update({volume["name"]: volume for volume in template.get("volumes") or []})
    mounts: dict[str, Path] = {}
    for mount in container.get("volumeMounts") or []:
        volume = declared[mount["name"]]
        source = _mount_source(volume, volumes, pod_dir / "volumes" / mount["name"])
        if "configMap" in volume or mount.get("readOnly") is True:
            make_read_only(source)
        mounts[mount["mountPath"].rstrip("/")] = source
    rewrite = _path_rewriter(mounts)
    work = pod_dir / "work"
    work.mkdir(parents=True)
    tmp = mounts.get("/tmp", pod_dir / "tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [rewrite(part) for part in container["command"] + container.get("args", [])]
    if argv[0] in PYTHON_COMMANDS:
        argv[0] = python
    elif shutil.which(argv[0]) is None:
        # As a container runtime would, fail the attempt when the command does not exist.
        raise CommandNotFoundError(f"executable {argv[0]!r} not found on this machine's PATH")
    # The container sees only its own environment; PATH finds local tools, HOME and TMPDIR
    # point into the pod's scratch space as a container's writable /tmp would.
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp), "TMPDIR": str(tmp)}
    env.update(
        {item["name"]: rewrite(str(item.get("value", ""))) for item in container.get("env") or []}
    )
    cwd = Path(rewrite(container["workingDir"])) if "workingDir" in container else work
    output_paths = {
        parameter["name"]: Path(rewrite(parameter["valueFrom"]["path"]))
        for parameter in (template.get("outputs") or {}).get("parameters") or []
    }
    return Launch(argv, env, cwd, pod_dir / "stdout", pod_dir / "stderr", output_paths)


def make_read_only(root: Path) -> None:
    """Files 0444 and directories 0555 below and including root (a read-only mount's view)."""
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            os.chmod(os.path.join(directory, name), 0o444)
        os.chmod(directory, 0o555)


def remove_tree(root: Path) -> None:
    """Delete a scratch tree, read-only mount directories included; missing is fine."""
    for directory, _, _ in os.walk(root):
        os.chmod(directory, 0o755)
    shutil.rmtree(root, ignore_errors=True)


def _mount_source(volume: Mapping[str, Any], volumes: Volumes, empty_dir: Path) -> Path:
    if "persistentVolumeClaim" in volume:
        return volumes.claims[volume["persistentVolumeClaim"]["claimName"]]
    if "configMap" in volume:
        source = volumes.config_maps[volume["configMap"]["name"]]
        items = volume["configMap"].get("items")
        if not items:
            return source
        # Only the listed keys, at their own relative paths, as the kubelet projects them.
        empty_dir.mkdir(parents=True)
        for item in items:
            target = empty_dir / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / item["key"], target)
        return empty_dir
    empty_dir.mkdir(parents=True)
    return empty_dir


# Marks a mountPath in a template's own text until prepare() knows the local directory. The
# random part keeps a substituted value (which reaches the text only after marking) from ever
# forming a mark; NUL cannot reach a process's argv or environment anyway.
_MARK = f"\0{secrets.token_hex(8)}"
_MARKED = re.compile(re.escape(_MARK) + r"([^\0]*)\0")


def mark_paths(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a container template with each mountPath in its own paths marked.

    Marked are occurrences in command, args, env values, workingDir and output parameter paths,
    outside `{{...}}` tags, as whole path components (not /database or /x/data); longest
    mountPath first, so /data/x wins over /data. Run it before substituting variables, so
    parameter values are never taken for paths.
    """
    marked = copy.deepcopy(dict(template))
    container = marked.get("container")
    mounts = [str(m["mountPath"]).rstrip("/") for m in (container or {}).get("volumeMounts") or []]
    if not mounts:
        return marked
    alternatives = "|".join(re.escape(path) for path in sorted(mounts, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w./~-])({alternatives})(?![\w.-])")

    def mark_outside_tags(text: str) -> str:
        return pattern.sub(lambda found: f"{_MARK}{found.group(1)}\0", text)

    def mark(text: str) -> str:
        pieces, position = [], 0
        for tag in TAG.finditer(text):
            pieces += [mark_outside_tags(text[position : tag.start()]), tag.group(0)]
            position = tag.end()
        pieces.append(mark_outside_tags(text[position:]))
        return "".join(pieces)

    for key in ("command", "args"):
        if key in container:
            container[key] = [mark(part) for part in container[key]]
    for item in container.get("env") or []:
        if "value" in item:
            item["value"] = mark(str(item["value"]))
    if "workingDir" in container:
        container["workingDir"] = mark(container["workingDir"])
    for parameter in (marked.get("outputs") or {}).get("parameters") or []:
        value_from = parameter.get("valueFrom") or {}
        if "path" in value_from:
            value_from["path"] = mark(str(value_from["path"]))
    return marked


def unmarked(text: str) -> str:
    """A marked text as the container sees it (for messages)."""
    return _MARKED.sub(lambda match: match.group(1), text)


def _path_rewriter(mounts: Mapping[str, Path]):
    """A function replacing each marked mountPath with its local directory."""
    return lambda text: _MARKED.sub(lambda match: str(mounts[match.group(1)]), text)


def start(launch: Launch) -> subprocess.Popen[bytes]:
    """Start the process in its own session, so a deadline can kill its whole process group."""
    with launch.stdout.open("wb") as stdout, launch.stderr.open("wb") as stderr:
        return subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
