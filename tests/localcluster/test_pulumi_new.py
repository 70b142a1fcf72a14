"""`pulumi new` from this repository under another project name, with the real CLI.

The answers of `pulumi new --name team-batch --config ...` are stored as `team-batch:<key>`; the
program reads them there (not under a fixed `argo-fanout` namespace), so `pulumi preview` targets
what they say, and a mistyped key of the new project is refused naming the closest known key.
The template is the repository's tracked files, as `pulumi new <repository URL>` would clone them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from e2e.localcluster import cluster as lc
from infra.config import REPO_ROOT
from tests.localcluster.pulumi_cli import PulumiCLI, missing_binaries
from tests.localcluster.support import LocalCluster

pytestmark = pytest.mark.localcluster

PROJECT = "team-batch"
STACK = "lab"
# This machine reaches no plugin download site: `pulumi new` installs a plugin for every Pulumi
# package in requirements.txt and stops at the first one not built here (pulumi-command,
# pulumi-alicloud, pulumi-random: only the Kubernetes provider is built, and target existing with
# argo.install false loads no other), after the project, stack and config are written. That is
# the only failure allowed.
_OFFLINE_PLUGIN = re.compile(r"failed to download plugin: (?!kubernetes-)[a-z]+-[0-9.]+")


def export_template(destination: Path) -> Path:
    """The repository's tracked files (what a clone holds), copied from the work tree."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = REPO_ROOT / name.decode()
        if not source.exists():  # deleted in the work tree, not yet committed
            continue
        target = destination / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


def test_pulumi_new_under_another_name_reads_its_answers(cluster: LocalCluster, tmp_path):
    layout = lc.Layout.default()
    assert not missing_binaries(layout), "build them: e2e/localcluster/pulumi/build.sh"
    template = export_template(tmp_path / "template")
    cli = PulumiCLI(layout, tmp_path / "home")
    cli.install_provider()
    project_dir = tmp_path / PROJECT
    answers = {
        "target": "existing",
        "existing": {"kubeconfig": str(layout.kubeconfig)},
        "argo": {"install": False},
        "storage": {"type": "existingClaim", "existingClaim": lc.CLAIM_NAME},
        "workload": {"namespace": cluster.namespace, "createNamespace": False, "numParts": 3},
    }
    config_flags = [
        flag
        for key, value in answers.items()
        for flag in ("--config", f"{key}={value if isinstance(value, str) else json.dumps(value)}")
    ]
    created = cli.run(
        "new",
        str(template),
        "--dir",
        str(project_dir),
        "--name",
        PROJECT,
        "--stack",
        STACK,
        "--yes",
        *config_flags,
        cwd=tmp_path,
    )
    if created.returncode != 0:
        assert _OFFLINE_PLUGIN.search(created.output), created.output[-4000:]

    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    stack_file = yaml.safe_load((project_dir / f"Pulumi.{STACK}.yaml").read_text())
    stored = stack_file["config"]
    assert stored[f"{PROJECT}:target"] == "existing"
    assert not [key for key in stored if key.startswith("argo-fanout:")]

    preview = cli.run("preview", "--stack", STACK, cwd=project_dir)
    assert preview.returncode == 0, preview.output[-4000:]
    # What the answers say: target existing, the claim given, numParts 3, no Argo install.
    assert 'target           : "existing"' in preview.output
    assert f'volumeClaim      : "{lc.CLAIM_NAME}"' in preview.output
    assert "-p numParts=3" in preview.output
    assert "kubernetes:helm.sh/v3:Release" in preview.output
    assert "argo-workflows" not in preview.output

    cli.check("config", "set", "targte", "existing", "--stack", STACK, cwd=project_dir)
    refused = cli.run("preview", "--stack", STACK, cwd=project_dir)
    assert refused.returncode != 0
    assert (
        f"error: {PROJECT}:targte: unknown configuration key; did you mean {PROJECT}:target?"
        in refused.output
    )
    assert "Traceback" not in refused.output
