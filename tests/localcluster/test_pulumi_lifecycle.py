"""The `local` stack's whole life through the real Pulumi CLI, engine and Kubernetes provider.

In file order (each test needs the ones before it): `pulumi up` from nothing, no diff on the
preview after it, runs through `python -m workflows`, the changes a user makes on Day 2 (each
applied by a real `pulumi up` and used by the next run), a bad value, `pulumi destroy` leaving
nothing of the stack's behind, and `workflows ephemeral` on the emptied stack. The binaries come
from e2e/localcluster/pulumi/build.sh; the module's fixture destroys the stack whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.localcluster import cluster as lc
from infra.config import REPO_ROOT
from tests.localcluster.pulumi_cli import LocalStack, PulumiCLI, missing_binaries
from tests.localcluster.support import GROUP, VERSION, LocalCluster
from workflows.job import JOB_DIR

pytestmark = pytest.mark.localcluster

GENERATE = JOB_DIR / "generate.py"
TEMPLATE = "log-count"
CRON = "log-count"  # the chart names the CronWorkflow after the template
# Objects of these kinds in the workload namespace are compared before `up` and after `destroy`.
NAMESPACED = {
    "configmaps": "v1",
    "secrets": "v1",
    "serviceaccounts": "v1",
    "pods": "v1",
    "persistentvolumeclaims": "v1",
    "roles": "rbac.authorization.k8s.io/v1",
    "rolebindings": "rbac.authorization.k8s.io/v1",
    "networkpolicies": "networking.k8s.io/v1",
    "workflowtemplates": f"{GROUP}/{VERSION}",
    "cronworkflows": f"{GROUP}/{VERSION}",
    "workflows": f"{GROUP}/{VERSION}",
}


class Lifecycle:
    def __init__(self, cluster: LocalCluster, cli: PulumiCLI, stack: LocalStack) -> None:
        self.cluster = cluster
        self.cli = cli
        self.stack = stack
        self.baseline: set[tuple[str, str]] = set()
        self.workflows: list[str] = []

    # --- the cluster's view ---------------------------------------------------------------

    def objects(self) -> set[tuple[str, str]]:
        """(kind, name) of every object of NAMESPACED's kinds in the workload namespace."""
        client = self.cluster.core.api_client
        found = set()
        for plural, api_version in NAMESPACED.items():
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            path = f"{prefix}/namespaces/{self.cluster.namespace}/{plural}"
            response = client.call_api("GET", client.configuration.host + path)
            response.read()
            items = json.loads(response.data)["items"]
            found |= {(plural, item["metadata"]["name"]) for item in items}
        return found

    def template(self) -> dict[str, Any]:
        return self.cluster.objects.get_namespaced_custom_object(
            GROUP, VERSION, self.cluster.namespace, "workflowtemplates", TEMPLATE
        )

    # --- the user's commands --------------------------------------------------------------

    def up(self) -> None:
        result = self.stack.up()
        assert result.returncode == 0, f"pulumi up failed:\n{result.output[-4000:]}"
        assert "Traceback" not in result.output

    def workflows_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workflows", *args],
            cwd=REPO_ROOT,
            env=self.cli.env,
            capture_output=True,
            text=True,
            timeout=1200,
        )

    def generate(self, tmp: Path, name: str, *extra: str) -> dict[str, Any]:
        output = tmp / name
        done = subprocess.run(
            [sys.executable, str(GENERATE), "--output", str(output), *extra],
            capture_output=True,
            text=True,
            check=True,
        )
        return {"path": output, "expected": json.loads(done.stdout)}


@contextlib.contextmanager
def lifecycle(cluster: LocalCluster, tmp_path_factory) -> Iterator[Lifecycle]:
    """A `local` stack on a throwaway backend and plugin home, with its baseline of objects;
    torn down whatever failed (also used by test_pulumi_jobs.py)."""
    layout = lc.Layout.default()
    missing = missing_binaries(layout)
    assert not missing, (
        f"{missing} are not in {layout.bin}: build them with e2e/localcluster/pulumi/build.sh "
        "(make e2e-local does)"
    )
    committed = (REPO_ROOT / "Pulumi.local.yaml").read_bytes()
    cli = PulumiCLI(layout, tmp_path_factory.mktemp("pulumi"))
    stack = LocalStack(cli)
    life = Lifecycle(cluster, cli, stack)
    try:
        cli.install_provider()
        stack.init()
        life.baseline = life.objects()
        yield life
    finally:
        # Whatever failed: leave no runs, resources or stack behind, and the committed file as
        # it was (the Automation API under `workflows ephemeral` may record the secrets salt in it).
        for name in life.workflows:
            life.cluster.delete_workflow(name)
        stack.destroy()
        stack.rm()
        (REPO_ROOT / "Pulumi.local.yaml").write_bytes(committed)


def test_up_from_nothing_creates_what_the_program_declares(life: Lifecycle):
    life.up()
    created = life.objects() - life.baseline
    kinds = {kind for kind, _ in created}
    # What the mock tests expect of target existing with an existing claim and Argo not
    # installed: the chart's template, its ConfigMap, the workflow identity and its RBAC.
    assert ("workflowtemplates", TEMPLATE) in created
    assert {"configmaps", "serviceaccounts", "roles", "rolebindings", "secrets"} <= kinds
    assert "persistentvolumeclaims" not in kinds  # the harness's claim is used, not made
    outputs = life.stack.outputs()
    assert outputs["workflowTemplate"] == TEMPLATE
    assert outputs["workloadNamespace"] == life.cluster.namespace
    assert outputs["volumeClaim"] == lc.CLAIM_NAME
    assert Path(outputs["dataDir"]) == life.cluster.volume.resolve()


def test_preview_right_after_up_has_no_changes(life: Lifecycle):
    result = life.stack.preview("--expect-no-changes", "--diff")
    assert result.returncode == 0, f"a perpetual diff:\n{result.output[-4000:]}"


def test_submit_and_result_give_exact_totals(life: Lifecycle, tmp_path):
    data = life.generate(tmp_path, "app.log", "--size", "2MiB", "--seed", "11")
    submitted = life.workflows_cli(
        "submit", "-s", "local", "--input", str(data["path"]), "-p", "numParts=3", "--wait"
    )
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    result = json.loads(submitted.stdout[submitted.stdout.index("{") :])
    assert result["counts"] == data["expected"]["counts"]["substring"]
    assert result["shards"] == 3
    assert result["bytes"] == data["expected"]["bytes"]
    name = submitted.stderr.split("submitted workflow ", 1)[1].split()[0]
    again = life.workflows_cli("result", "-s", "local", name)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == result


DAY2 = [
    # (config path, value, what the WorkflowTemplate shows for it)
    ("workload.numParts", 5, lambda t: _param(t, "numParts") == "5"),
    ("workload.keywords", ["ERROR", "WARN"], lambda t: _param(t, "keywords") == "ERROR,WARN"),
    ("workload.match", "word", lambda t: _param(t, "match") == "word"),
    ("workload.parallelism", 3, lambda t: 3 in _values_of(t, "parallelism")),
    ("workload.retries", 1, lambda t: _count(t)["retryStrategy"]["limit"] in (1, "1")),
    (
        "workload.resources",
        {"count": {"requests": {"cpu": "30m", "memory": "40Mi"}, "limits": {"memory": "200Mi"}}},
        lambda t: _count_container(t)["resources"]["requests"] == {"cpu": "30m", "memory": "40Mi"},
    ),
    (
        "workload.values",
        {"workflow": {"retry": {"backoff": {"duration": "1s"}}}},
        lambda t: _count(t)["retryStrategy"]["backoff"]["duration"] == "1s",
    ),
]


@pytest.mark.parametrize(("path", "value", "shown"), DAY2, ids=[case[0] for case in DAY2])
def test_day2_change_applies_with_a_real_up(life: Lifecycle, path, value, shown):
    life.stack.set(path, value)
    life.up()
    assert shown(life.template()), f"{path}={value!r} is not in the WorkflowTemplate"
    after = life.stack.preview("--expect-no-changes")
    assert after.returncode == 0, f"a diff after changing {path}:\n{after.output[-3000:]}"


def test_the_next_run_uses_the_changed_settings(life: Lifecycle, tmp_path):
    data = life.generate(tmp_path, "day2.log", "--size", "1MiB", "--seed", "5")
    submitted = life.workflows_cli("submit", "-s", "local", "--input", str(data["path"]), "--wait")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    result = json.loads(submitted.stdout[submitted.stdout.index("{") :])
    word = data["expected"]["counts"]["word"]
    assert result["match"] == "word"
    assert result["shards"] == 5
    assert result["counts"] == {"ERROR": word["ERROR"], "WARN": word["WARN"]}


def test_image_change_applies_and_runs(life: Lifecycle, tmp_path):
    # The same step image under a second name, so the run can only succeed if it uses it.
    source = lc.images.STEP_IMAGE
    renamed = source.rsplit(":", 1)[0] + ":day2"
    lc.ctr(lc.Layout.default(), "images", "tag", "--force", source, renamed)
    life.stack.set("workload.image.tag", "day2")
    life.up()
    assert _count_container(life.template())["image"] == renamed
    data = life.generate(tmp_path, "image.log", "--size", "256KiB", "--seed", "2")
    submitted = life.workflows_cli("submit", "-s", "local", "--input", str(data["path"]), "--wait")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    name = submitted.stderr.split("submitted workflow ", 1)[1].split()[0]
    pods = life.cluster.core.list_namespaced_pod(
        life.cluster.namespace, label_selector=f"workflows.argoproj.io/workflow={name}"
    ).items
    images = {c.image for pod in pods for c in pod.spec.containers if c.name == "main"}
    assert images == {renamed}


def test_schedule_on_then_off(life: Lifecycle):
    life.stack.set("workload.schedule", {"cron": "17 3 * * *", "timezone": "UTC"})
    life.up()
    cron = life.cluster.objects.get_namespaced_custom_object(
        GROUP, VERSION, life.cluster.namespace, "cronworkflows", CRON
    )
    schedules = cron["spec"].get("schedules") or [cron["spec"].get("schedule")]
    assert schedules == ["17 3 * * *"]
    life.stack.remove("workload.schedule")
    life.up()
    assert ("cronworkflows", CRON) not in life.objects()


def test_bad_value_is_one_line_naming_the_key_and_no_secret(life: Lifecycle):
    life.stack.set("workload.numParts", 0)
    result = life.stack.preview()
    assert result.returncode != 0
    assert "workload.numParts: 0 is not an integer >= 1" in result.output
    assert "Traceback" not in result.output
    life.stack.set("workload.numParts", 5)
    # A secret in the wrong place: existing.kubeconfig holding text that is no kubeconfig.
    secret = "token-" + "s3cr3t" * 4
    config = yaml.safe_load(life.stack.config_file.read_text())
    kept = config["config"]["argo-fanout:existing"]
    life.stack.set("existing.kubeconfig", f"user: admin\npassword: {secret}\n")
    result = life.stack.preview()
    life.stack.set("existing", kept)
    assert result.returncode != 0
    assert "existing.kubeconfig" in result.output
    assert secret not in result.output
    assert "Traceback" not in result.output
    assert life.stack.preview("--expect-no-changes").returncode == 0


def test_destroy_leaves_nothing_of_the_stack(life: Lifecycle):
    # Runs are not Pulumi resources: delete them first, as the README's Teardown says for a
    # namespace the stack did not create (workload.createNamespace false).
    for plural, name in life.objects() - life.baseline:
        if plural == "workflows":
            life.cluster.delete_workflow(name)
    result = life.stack.destroy()
    assert result.returncode == 0, result.output[-4000:]
    left = life.objects() - life.baseline
    assert not left, f"left after pulumi destroy: {sorted(left)}"


def test_ephemeral_end_to_end(life: Lifecycle, tmp_path):
    data = life.generate(tmp_path, "ephemeral.log", "--size", "512KiB", "--seed", "9")
    done = life.workflows_cli(
        "ephemeral", "-s", "local", "--input", str(data["path"]), "-p", "numParts=2"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout[done.stdout.index("{") : done.stdout.rindex("}") + 1])
    assert result["counts"] == data["expected"]["counts"]["substring"]
    assert "destroyed: every resource of stack local" in done.stdout + done.stderr
    # The run itself stays, said so in the report (the namespace predates the stack: README
    # "Teardown"); its Workflow and the Workflow's pods are all that may be left.
    report = done.stdout + done.stderr
    assert "left: workflow log-count-" in report
    run = report.split("left: workflow ", 1)[1].split()[0]
    left = {
        (kind, name)
        for kind, name in life.objects() - life.baseline
        if not (kind == "workflows" and name == run)
        and not (kind == "pods" and name.startswith(f"{run}-"))
    }
    assert not left, f"left after ephemeral: {sorted(left)}"
    life.cluster.delete_workflow(run)


def _values_of(node: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere in a JSON document."""
    if isinstance(node, dict):
        own = [node[key]] if key in node else []
        return own + [v for child in node.values() for v in _values_of(child, key)]
    if isinstance(node, list):
        return [v for child in node for v in _values_of(child, key)]
    return []


def _param(template: dict[str, Any], name: str) -> str:
    params = template["spec"]["arguments"]["parameters"]
    return next(p["value"] for p in params if p["name"] == name)


def _count(template: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in template["spec"]["templates"] if t["name"] == "count")


def _count_container(template: dict[str, Any]) -> dict[str, Any]:
    return _count(template)["container"]
