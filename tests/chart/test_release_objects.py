"""RBAC, CronWorkflow, labels, extraObjects and NOTES.txt of a release."""

from __future__ import annotations

import json

from tests.chart.scenarios import (
    NAMESPACE,
    RELEASE,
    kinds,
    notes,
    only,
    render,
    scenario_values,
)
from tests.support.schemas import requires_argo_crds, validate_object
from workflows.chart import PLATFORM_CHART

STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}


def test_service_account_gets_exactly_the_executor_permissions():
    objects = render({})
    account = only(objects, "ServiceAccount")
    role = only(objects, "Role")
    binding = only(objects, "RoleBinding")
    assert only(objects, "WorkflowTemplate")["spec"]["serviceAccountName"] == RELEASE
    assert account["metadata"] == {**account["metadata"], "name": RELEASE, "namespace": NAMESPACE}
    assert role["rules"] == [
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtaskresults"],
            "verbs": ["create", "patch"],
        }
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}
    ]


def test_named_service_account_is_created_under_that_name():
    objects = render({"serviceAccount": {"name": "log-counter"}})
    assert only(objects, "ServiceAccount")["metadata"]["name"] == "log-counter"
    assert only(objects, "WorkflowTemplate")["spec"]["serviceAccountName"] == "log-counter"


def test_existing_service_account_is_used_without_rbac():
    objects = render({"serviceAccount": {"create": False, "name": "argo-workflow"}})
    assert not {"ServiceAccount", "Role", "RoleBinding"} & set(kinds(objects))
    assert only(objects, "WorkflowTemplate")["spec"]["serviceAccountName"] == "argo-workflow"


def test_no_cron_workflow_unless_scheduled():
    assert "CronWorkflow" not in kinds(render({}))


def test_cron_workflow_runs_the_template_one_at_a_time():
    objects = render(scenario_values("schedule"))
    cron = only(objects, "CronWorkflow")
    assert cron["spec"] == {
        "schedules": ["30 2 * * *"],
        "timezone": "Asia/Shanghai",
        "concurrencyPolicy": "Forbid",
        "workflowSpec": {
            "workflowTemplateRef": {"name": only(objects, "WorkflowTemplate")["metadata"]["name"]}
        },
    }


def test_cron_workflow_without_timezone_uses_the_controllers():
    cron = only(render({"schedule": {"enabled": True}}), "CronWorkflow")
    assert "timezone" not in cron["spec"]
    assert cron["spec"]["schedules"] == ["0 3 * * *"]


def test_every_object_has_standard_and_common_labels():
    objects = render({"commonLabels": {"team": "platform"}, "schedule": {"enabled": True}})
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert set(labels) >= STANDARD_LABELS, (obj["kind"], labels)
        assert labels["team"] == "platform"
        assert labels["app.kubernetes.io/part-of"] == "argo-fanout"


def test_extra_objects_go_through_tpl_as_maps_and_strings():
    as_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "{{ .Release.Name }}-extra"},
        "data": {"claim": "{{ .Values.platform.claimName }}"},
    }
    as_string = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-token\n"
    values = {
        "extraObjects": [as_map, as_string],
        "storage": {"type": "existingClaim", "existingClaim": "logs"},
    }
    names = {obj["metadata"]["name"]: obj for obj in render(values)}
    assert names[f"{RELEASE}-extra"]["data"] == {"claim": "logs"}
    assert names[f"{RELEASE}-token"]["kind"] == "Secret"


def test_notes_tell_how_to_submit_watch_and_find_the_result():
    text = notes({"job": {"numParts": 8}})
    assert f"argo submit --from workflowtemplate/{RELEASE} -n {NAMESPACE}" in text
    assert "-p numParts=8" in text
    assert f"| kubectl create -n {NAMESPACE} -f -" in text
    assert f'"workflowTemplateRef": {{"name": "{RELEASE}"}}' in text
    assert "/data/runs/<workflow name>/result.json" in text
    assert f"argo watch -n {NAMESPACE} @latest" in text
    assert "CronWorkflow" not in text


def test_notes_warn_that_a_host_path_must_be_prepared_on_every_node():
    text = notes({"storage": {"hostPath": {"path": "/srv/logs"}}}, chart=PLATFORM_CHART)
    assert "IMPORTANT (storage.type hostPath)" in text
    assert "mkdir -p /srv/logs && chown 1000:1000 /srv/logs" in text
    nas = {"storage": {"type": "nas", "nas": {"server": "n"}}}
    assert "IMPORTANT" not in notes(nas, chart=PLATFORM_CHART)


def test_platform_notes_tell_how_to_pass_the_platform_block_to_job_charts():
    text = notes({}, chart=PLATFORM_CHART, release="argo-fanout")
    config = "argo-fanout-platform-platform"
    assert f"kubectl get configmap -n {NAMESPACE} {config}" in text
    assert "helm install log-count charts/log-count" in text


def test_notes_read_the_workflow_output_merge_exports():
    template = only(render({}), "WorkflowTemplate")
    merge = next(t for t in template["spec"]["templates"] if t["name"] == "merge")
    (exported,) = merge["outputs"]["parameters"]
    assert f'.status.outputs.parameters[?(@.name=="{exported["globalName"]}")].value' in notes({})


def test_notes_mention_the_schedule_when_enabled():
    text = notes(scenario_values("schedule"))
    assert f'The CronWorkflow {RELEASE} also runs it on "30 2 * * *" (Asia/Shanghai)' in text


@requires_argo_crds
def test_notes_kubectl_workflow_is_a_valid_workflow_running_the_template():
    text = notes({})
    workflow = json.loads(text.split("echo '", 1)[1].split("' \\", 1)[0])
    validate_object(workflow)
    assert workflow["spec"]["workflowTemplateRef"] == {"name": RELEASE}
