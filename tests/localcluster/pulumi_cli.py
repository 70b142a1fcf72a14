"""The real Pulumi CLI on the local real cluster: an offline, throwaway backend and plugin home.

The binaries come from e2e/localcluster/pulumi/build.sh (Go modules only) in the cluster's bin
directory. Everything the CLI writes goes to a temporary directory: the file backend, the plugin
cache (the Kubernetes provider installed from its file, never downloaded), and a copy of
Pulumi.local.yaml that every command reads with --config-file, so `pulumi config set` during the
tests never edits the committed stack file. The passphrase is generated per session.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from e2e.localcluster import cluster as lc
from infra.config import PROJECT, REPO_ROOT

# The provider release build.sh stamps (it checks requirements.txt pins the same one).
_PROVIDER_RELEASE = re.compile(r"^KUBERNETES_PROVIDER_RELEASE=(\S+)$", re.MULTILINE)
BUILD_SCRIPT = REPO_ROOT / "e2e" / "localcluster" / "pulumi" / "build.sh"
BINARIES = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")
PROVIDER = "pulumi-resource-kubernetes"
COMMAND_TIMEOUT_SECONDS = 600
_REMOVE = object()


def provider_release() -> str:
    match = _PROVIDER_RELEASE.search(BUILD_SCRIPT.read_text())
    assert match, f"{BUILD_SCRIPT} names no KUBERNETES_PROVIDER_RELEASE"
    return match.group(1)


def missing_binaries(layout: lc.Layout) -> list[str]:
    return [name for name in (*BINARIES, PROVIDER) if not (layout.bin / name).exists()]


@dataclass
class Result:
    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class PulumiCLI:
    """`pulumi` run in a project directory against a file backend under ``home``."""

    def __init__(self, layout: lc.Layout, home: Path, project_dir: Path = REPO_ROOT) -> None:
        self.layout = layout
        self.home = home
        self.project_dir = project_dir
        self.passphrase = secrets.token_urlsafe(24)
        (home / "plugins").mkdir(parents=True, exist_ok=True)
        (home / "state").mkdir(exist_ok=True)
        self.env = self._environment()

    def _environment(self) -> dict[str, str]:
        venv_bin = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PULUMI_", "KUBECONFIG"))
        }
        env.update(
            PULUMI_HOME=str(self.home / "plugins"),
            PULUMI_BACKEND_URL=f"file://{self.home / 'state'}",
            PULUMI_CONFIG_PASSPHRASE=self.passphrase,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_IGNORE_AMBIENT_PLUGINS="true",
            # The language host finds python3 on PATH: the project's virtualenv first.
            PATH=os.pathsep.join([str(self.layout.bin), str(venv_bin), env.get("PATH", "")]),
        )
        return env

    def install_provider(self) -> None:
        self.check(
            "plugin",
            "install",
            "resource",
            "kubernetes",
            provider_release(),
            "--file",
            str(self.layout.bin / PROVIDER),
        )

    def run(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        argv = [str(self.layout.bin / "pulumi"), *args, "--non-interactive"]
        completed = subprocess.run(
            argv,
            cwd=cwd or self.project_dir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return Result(argv, completed.returncode, completed.stdout, completed.stderr)

    def check(self, *args: str, cwd: Path | None = None) -> Result:
        result = self.run(*args, cwd=cwd)
        assert result.returncode == 0, (
            f"`pulumi {' '.join(args)}` exited {result.returncode}:\n{result.output[-4000:]}"
        )
        return result


class LocalStack:
    """The `local` stack of this repository, its config in a temporary copy of Pulumi.local.yaml."""

    def __init__(self, cli: PulumiCLI, name: str = "local") -> None:
        self.cli = cli
        self.name = name
        self.config_file = cli.home / f"Pulumi.{name}.yaml"
        shutil.copyfile(REPO_ROOT / f"Pulumi.{name}.yaml", self.config_file)

    def _args(self, *args: str) -> list[str]:
        return [*args, "--stack", self.name, "--config-file", str(self.config_file)]

    def init(self) -> None:
        """`pulumi stack init`, in a copy of the project: it writes the stack's encryption salt
        into the stack file it finds, which must be the temporary copy, not the committed one."""
        project = self.cli.home / "init"
        project.mkdir()
        shutil.copyfile(REPO_ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
        shutil.copyfile(self.config_file, project / self.config_file.name)
        self.cli.check("stack", "init", self.name, cwd=project)
        shutil.copyfile(project / self.config_file.name, self.config_file)

    def set(self, path: str, value: Any) -> None:
        """Set ``argo-fanout:<path>`` (dotted) in the stack file, as a user edits it."""
        self._edit(path, value)

    def remove(self, path: str) -> None:
        self._edit(path, _REMOVE)

    def _edit(self, path: str, value: Any) -> None:
        document = yaml.safe_load(self.config_file.read_text())
        top, *rest = path.split(".")
        values = document.setdefault("config", {})
        key = f"{PROJECT}:{top}"
        if not rest:
            if value is _REMOVE:
                values.pop(key, None)
            else:
                values[key] = value
        else:
            node = values.setdefault(key, {})
            for part in rest[:-1]:
                node = node.setdefault(part, {})
            if value is _REMOVE:
                node.pop(rest[-1], None)
            else:
                node[rest[-1]] = value
        self.config_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def up(self) -> Result:
        return self.cli.run(*self._args("up", "--yes", "--skip-preview"))

    def preview(self, *extra: str) -> Result:
        return self.cli.run(*self._args("preview", *extra))

    def destroy(self) -> Result:
        return self.cli.run(*self._args("destroy", "--yes", "--skip-preview"))

    def outputs(self) -> dict[str, Any]:
        return json.loads(self.cli.check("stack", "output", "--json", "--stack", self.name).stdout)

    def resources(self) -> list[dict[str, Any]]:
        """The stack's resources as its state holds them (`pulumi stack export`): urn, type, id,
        and the `created` time the engine stamps once, when it creates (or replaces) one."""
        exported = self.cli.check("stack", "export", "--stack", self.name).stdout
        return json.loads(exported)["deployment"]["resources"]

    def rm(self) -> Result:
        return self.cli.run("stack", "rm", self.name, "--yes", "--preserve-config")
