"""The kind target's shell commands, run for real against a fake `kind` on PATH."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from infra.cluster import kind_create_script, kind_delete_script

# Records its arguments, and writes what the real kind writes to the --kubeconfig it is given.
FAKE_KIND = """#!/bin/sh
printf '%s\\n' "$@" > "$RECORD"
while [ $# -gt 0 ]; do
  if [ "$1" = --kubeconfig ]; then
    printf 'users: [{name: admin, user: {client-key-data: KEY}}]\\n' > "$2"
    ls -ld "$(dirname "$2")" > "$RECORD.dir"
  fi
  shift
done
cat > /dev/null
"""


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """Runs a command as pulumi-command does (sh -c), with a fake kind and a private HOME."""
    bin_dir, home, tmp = tmp_path / "bin", tmp_path / "home", tmp_path / "tmp"
    for directory in (bin_dir, home, tmp):
        directory.mkdir()
    kind = bin_dir / "kind"
    kind.write_text(FAKE_KIND)
    kind.chmod(0o755)
    record = tmp_path / "record"

    def run(script: str, **env: str) -> list[str]:
        environment = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOME": str(home),
            "TMPDIR": str(tmp),
            "RECORD": str(record),
            **env,
        }
        subprocess.run(
            ["sh", "-c", script], input="kind: Cluster\n", text=True, check=True, env=environment
        )
        return record.read_text().splitlines()

    run.home, run.tmp, run.record = home, tmp, record
    return run


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_makes_a_new_data_dir_world_writable_and_sticky(shell, tmp_path):
    data_dir = tmp_path / "data" / "dev"
    args = shell(kind_create_script("dev"), DATA_DIR=str(data_dir))
    assert _mode(data_dir) == 0o1777
    assert args[:3] == ["create", "cluster", "--name"]


def test_create_leaves_an_existing_data_dir_alone(shell, tmp_path):
    data_dir = tmp_path / "mine"
    data_dir.mkdir(mode=0o750)
    data_dir.chmod(0o750)
    shell(kind_create_script("dev"), DATA_DIR=str(data_dir))
    assert _mode(data_dir) == 0o750


def test_create_writes_credentials_only_to_a_private_file_it_removes(shell, tmp_path):
    args = shell(kind_create_script("dev"), DATA_DIR=str(tmp_path / "d"))
    kubeconfig = Path(args[args.index("--kubeconfig") + 1])
    assert Path(f"{shell.record}.dir").read_text().startswith("drwx------")
    assert not kubeconfig.exists() and not kubeconfig.parent.exists()
    assert list(shell.tmp.iterdir()) == []  # nothing left in $TMPDIR
    assert not (shell.home / ".kube").exists()  # ~/.kube/config untouched, no context switch


def test_delete_edits_no_kubeconfig_of_the_user(shell):
    args = shell(kind_delete_script("dev"))
    assert args[:4] == ["delete", "cluster", "--name", "dev"]
    assert "--kubeconfig" in args
    assert list(shell.tmp.iterdir()) == [] and not (shell.home / ".kube").exists()
