"""scripts/dev.sh (make dev / make destroy) against fake pulumi, docker, kind and kubectl."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.pulumi_mocks import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "dev.sh"
BASH = shutil.which("bash")
SUBMIT = "argo submit -n argo-fanout --from workflowtemplate/log-count -p numParts=5 --watch"
# A fake pulumi: logs its arguments, is "not logged in" until `login`, answers stack outputs.
FAKE_PULUMI = f"""#!/bin/sh
echo "pulumi $*" >> "$LOG"
case "$1" in
  whoami) test -f "$STATE/logged-in" ;;
  login) : > "$STATE/logged-in" ;;
  stack)
    case "$2 $3" in
      "output dataDir") echo "$DATA_DIR" ;;
      "output submitCommand") echo "{SUBMIT}" ;;
    esac ;;
esac
"""


# The system commands the script uses besides the tools it checks for.
HELPERS = ("dirname", "find", "id")
# Fakes with their own behaviour; any other fake only logs how it was called.
FAKES = {
    "pulumi": FAKE_PULUMI,
    "id": "#!/bin/sh\necho 4242\n",  # a uid that owns none of the test's files
}


def tools(directory: Path, names: list[str]) -> str:
    """Fakes of ``names`` in ``directory``; returns a PATH holding them and the script's helpers
    only, so tools installed on this machine cannot stand in for missing ones. A name among
    HELPERS replaces that helper with a fake."""
    directory.mkdir()
    for helper in HELPERS:
        if helper not in names:
            (directory / helper).symlink_to(shutil.which(helper))
    for name in names:
        body = FAKES.get(name, '#!/bin/sh\necho "$0 $*" >> "$LOG"\n')
        path = directory / name
        path.write_text(body)
        path.chmod(0o755)
    return str(directory)


def run(tmp_path: Path, action: str, names: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": tools(tmp_path / "bin", names),
        "LOG": str(tmp_path / "log"),
        "STATE": str(tmp_path),
        "STACK": "dev",
        "DATA_DIR": "/repo/.data/dev",
        "PULUMI_CONFIG_PASSPHRASE": "",
        **env,
    }
    return subprocess.run(
        [BASH, str(SCRIPT), action],
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def logged(tmp_path: Path) -> list[str]:
    log = tmp_path / "log"
    return log.read_text().splitlines() if log.exists() else []


ALL = ["pulumi", "docker", "kind", "kubectl"]


def test_up_logs_in_locally_selects_the_stack_and_prints_the_submit_command(tmp_path):
    result = run(tmp_path, "up", ALL)
    assert result.returncode == 0, result.stderr
    calls = [line for line in logged(tmp_path) if line.startswith("pulumi")]
    assert calls[:4] == [
        "pulumi whoami",
        "pulumi login --local",
        "pulumi stack select --create dev",
        "pulumi up --yes --stack dev",
    ]
    assert SUBMIT in result.stdout
    assert "python -m workflows submit -s dev --input .data/sample.log --wait" in result.stdout
    assert "(at /repo/.data/dev/log-count-data.txt)" in result.stdout


def test_up_keeps_an_existing_login(tmp_path):
    (tmp_path / "logged-in").touch()
    result = run(tmp_path, "up", ALL)
    assert result.returncode == 0, result.stderr
    assert "pulumi login --local" not in logged(tmp_path)


@pytest.mark.parametrize("missing", ["pulumi", "docker", "kind"])
def test_up_names_a_missing_tool(tmp_path, missing):
    result = run(tmp_path, "up", [tool for tool in ALL if tool != missing])
    assert result.returncode == 1
    assert f"dev.sh: not found on PATH: {missing} (https://" in result.stderr
    assert not any(line.startswith("pulumi up") for line in logged(tmp_path))


def test_up_names_every_missing_tool_at_once(tmp_path):
    result = run(tmp_path, "up", [tool for tool in ALL if tool not in ("pulumi", "kind")])
    assert result.returncode == 1
    assert "not found on PATH: pulumi (https://" in result.stderr
    assert ") kind (https://kind.sigs.k8s.io/" in result.stderr


def test_up_needs_no_kubectl_but_recommends_it(tmp_path):
    result = run(tmp_path, "up", ["pulumi", "docker", "kind"])
    assert result.returncode == 0, result.stderr
    assert "pulumi up --yes --stack dev" in logged(tmp_path)
    assert "dev.sh: kubectl not found; not needed to deploy, but to inspect" in result.stderr


def test_up_without_passphrase_and_terminal_explains_and_stops(tmp_path):
    env = {key: value for key, value in os.environ.items() if key == "HOME"}
    bin_dir = tmp_path / "bin"
    tools(bin_dir, ALL)
    result = subprocess.run(
        ["bash", str(SCRIPT), "up"],
        env={
            **env,
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "LOG": str(tmp_path / "log"),
            "STATE": str(tmp_path),
        },
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 1
    assert "PULUMI_CONFIG_PASSPHRASE is not set" in result.stderr
    assert "no terminal to prompt for the passphrase" in result.stderr


def test_destroy_needs_kind_for_the_cluster_delete(tmp_path):
    result = run(tmp_path, "destroy", ["pulumi"])
    assert result.returncode == 1
    assert "dev.sh: not found on PATH: kind (https://" in result.stderr
    assert "pulumi destroy" not in logged(tmp_path)


def test_destroy_reports_what_it_keeps(tmp_path):
    (tmp_path / "logged-in").touch()
    result = run(tmp_path, "destroy", ["pulumi", "kind"])
    assert result.returncode == 0, result.stderr
    assert "pulumi destroy --yes --stack dev" in logged(tmp_path)
    assert (
        "Kept on purpose: the data in /repo/.data/dev (the kind dataDir); "
        "remove it with: rm -rf '/repo/.data/dev'\n"
    ) in result.stdout


def test_destroy_asks_for_sudo_when_the_steps_wrote_files_as_another_user(tmp_path):
    """The steps' uid (1000) owns runs/; a fake `id` makes every file another user's."""
    data_dir = tmp_path / "data"
    (data_dir / "runs" / "wf-1").mkdir(parents=True)
    (tmp_path / "logged-in").touch()
    result = run(tmp_path, "destroy", ["pulumi", "kind", "id"], DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    assert f"remove it with: sudo rm -rf '{data_dir}' (the steps wrote part of it" in result.stdout


def test_destroy_needs_no_sudo_for_files_of_this_user(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "inputs").mkdir(parents=True)
    (tmp_path / "logged-in").touch()
    result = run(tmp_path, "destroy", ["pulumi", "kind"], DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    assert f"remove it with: rm -rf '{data_dir}'\n" in result.stdout


def test_unknown_action_shows_usage(tmp_path):
    result = run(tmp_path, "restart", ALL)
    assert result.returncode == 2
    assert "usage: STACK=<stack> bash scripts/dev.sh up|destroy" in result.stderr
