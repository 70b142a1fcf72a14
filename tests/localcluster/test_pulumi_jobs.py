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
    before = life.stack.cli.check("stack", "--show-urns", "--stack", "local").stdout
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
    after = life.stack.cli.check("stack", "--show-urns", "--stack", "local").stdout
    urn = next(line for line in before.splitlines() if "argo-fanout-workload-release" in line)
    assert urn.strip() in after  # log-count's release kept its URN

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
