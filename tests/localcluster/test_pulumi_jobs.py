"""A second job through the real Pulumi CLI: a `jobs.hello-world` entry in the `local` stack is
one more Helm release on the platform release, listed in `workflowTemplates`, and
`python -m workflows submit --template hello-world` runs it; log-count's release is not
replaced. Modelled on test_pulumi_lifecycle.py (its stack, CLI and clean-up)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.localcluster.support import GROUP, VERSION
from tests.localcluster.test_pulumi_lifecycle import Lifecycle

pytestmark = pytest.mark.localcluster

JOB = "hello-world"
MESSAGE = "hello from the jobs map"


def test_a_jobs_entry_is_deployed_and_runs_with_template(life: Lifecycle):
    life.up()
    before = _workload_release(life)
    # The seed chart's step image is the one the local cluster preloads (it pulls nothing).
    image = yaml.safe_load(life.stack.config_file.read_text())["config"]
    life.stack.set(f"jobs.{JOB}.image", image["argo-fanout:workload"]["image"])
    # Pods kept after success (no podGC), so the step's output can be read back.
    values = {"job": {"message": MESSAGE}, "workflow": {"podGC": {"strategy": ""}}}
    life.stack.set(f"jobs.{JOB}.values", values)
    preview = life.stack.preview("--diff")
    assert preview.returncode == 0, preview.output[-4000:]
    # Adding a job replaces nothing: no `+-` (replace) step and no "to replace" in the summary
    # (the word alone occurs in the diff, e.g. the Helm Release's `replace: false` field).
    replaced = re.search(r"^\s*\+-|to replace", preview.output, re.MULTILINE)
    assert replaced is None, preview.output[-4000:]
    life.up()
    outputs = life.stack.outputs()
    assert outputs["workflowTemplates"] == {"log-count": "log-count", JOB: JOB}
    assert outputs["workflowTemplate"] == "log-count"
    template = life.cluster.objects.get_namespaced_custom_object(
        GROUP, VERSION, life.cluster.namespace, "workflowtemplates", JOB
    )
    assert template["metadata"]["labels"]["app.kubernetes.io/instance"] == JOB
    # log-count's release is the same resource: its URN, its id and the time it was created
    # (a replacement would stamp a new one). (Not `pulumi stack --show-urns`: its tree drawing
    # of a resource changes from `└─` to `├─` when a sibling is added after it.)
    after = _workload_release(life)
    assert {k: after.get(k) for k in ("urn", "id", "created")} == {
        k: before.get(k) for k in ("urn", "id", "created")
    }
    assert before["created"]

    submitted = life.workflows_cli("submit", "-s", "local", "--template", JOB, "--wait")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    name = submitted.stderr.split("submitted workflow ", 1)[1].split()[0]
    life.workflows.append(name)
    assert name.startswith(f"{JOB}-")
    assert "declares no `result` output" in submitted.stderr
    run = life.cluster.objects.get_namespaced_custom_object(
        GROUP, VERSION, life.cluster.namespace, "workflows", name
    )
    assert run["status"]["phase"] == "Succeeded"
    pods = life.cluster.core.list_namespaced_pod(
        life.cluster.namespace, label_selector=f"workflows.argoproj.io/workflow={name}"
    ).items
    logs = "".join(
        life.cluster.core.read_namespaced_pod_log(
            pod.metadata.name, life.cluster.namespace, container="main"
        )
        for pod in pods
    )
    assert MESSAGE in logs

    refused = life.workflows_cli("submit", "-s", "local", "--template", JOB, "-p", "numParts=2")
    assert refused.returncode == 2
    assert "-p numParts: the template has no parameter 'numParts'" in refused.stderr
    assert life.stack.preview("--expect-no-changes").returncode == 0


def _workload_release(life: Lifecycle) -> dict:
    """log-count's Helm release in the stack's state (found by its Pulumi name, whose URN the
    jobs map keeps for log-count)."""
    resources = life.stack.resources()
    releases = [
        resource
        for resource in resources
        if resource["type"] == "kubernetes:helm.sh/v3:Release"
        and resource["urn"].endswith("::argo-fanout-workload-release")
    ]
    assert len(releases) == 1, [resource["urn"] for resource in resources]
    return releases[0]
