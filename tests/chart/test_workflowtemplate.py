"""Behaviour of the rendered WorkflowTemplate: DAG wiring, parameters, steps, values flowing in."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.chart.scenarios import NAMESPACE, RELEASE, only, render
from workflows.runlocal import depends

STEPS = ("split", "count", "merge")


def workflow_template(values: dict[str, Any] | None = None) -> dict[str, Any]:
    return only(render(values or {}), "WorkflowTemplate")


def templates_by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in template["spec"]["templates"]}


def tasks_by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in templates_by_name(template)["main"]["dag"]["tasks"]}


def parameters(template: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in template["spec"]["arguments"]["parameters"]}


def args_of(step: dict[str, Any]) -> dict[str, str]:
    """A step's `--flag=value` arguments as a map."""
    flags = {}
    for arg in step["container"]["args"]:
        flag, separator, value = arg.partition("=")
        assert separator, f"{step['name']}: argument {arg!r} is not --flag=value"
        flags[flag] = value
    return flags


def test_name_entrypoint_and_templates():
    template = workflow_template()
    assert template["metadata"]["name"] == RELEASE
    assert template["metadata"]["namespace"] == NAMESPACE
    assert template["spec"]["entrypoint"] == "main"
    assert list(templates_by_name(template)) == ["main", *STEPS]


def test_runs_carry_the_release_labels():
    assert workflow_template()["spec"]["workflowMetadata"] == {
        "labels": {"app.kubernetes.io/name": "log-count", "app.kubernetes.io/instance": RELEASE}
    }


def test_template_name_value_overrides_the_release_name():
    assert workflow_template({"templateName": "nightly-counts"})["metadata"]["name"] == (
        "nightly-counts"
    )


def test_dag_fans_out_over_split_result_and_fans_in():
    template = workflow_template()
    tasks = tasks_by_name(template)
    assert list(tasks) == ["split", "map", "reduce"]
    assert tasks["split"] == {"name": "split", "template": "split"}
    assert tasks["map"]["template"] == "count"
    assert tasks["map"]["depends"] == "split"
    assert tasks["map"]["withParam"] == "{{tasks.split.outputs.result}}"
    assert tasks["map"]["arguments"] == {"parameters": [{"name": "part", "value": "{{item}}"}]}
    assert tasks["reduce"] == {
        "name": "reduce",
        "template": "merge",
        "depends": "map.Succeeded || map.Skipped || map.Failed || map.Errored",
    }
    steps = templates_by_name(template)
    assert steps["count"]["inputs"] == {"parameters": [{"name": "part"}]}
    assert args_of(steps["count"])["--part"] == "{{inputs.parameters.part}}"


def test_result_flows_from_the_file_merge_writes_to_the_workflow_outputs():
    steps = templates_by_name(workflow_template())
    result_path = "/data/runs/{{workflow.name}}/result.json"
    assert args_of(steps["merge"])["--output"] == result_path
    assert steps["merge"]["outputs"] == {
        # globalName: Argo fills the workflow's status.outputs only from such parameters.
        "parameters": [
            {"name": "result", "globalName": "result", "valueFrom": {"path": result_path}}
        ]
    }
    assert steps["main"]["outputs"] == {
        "parameters": [
            {
                "name": "result",
                "valueFrom": {"parameter": "{{tasks.reduce.outputs.parameters.result}}"},
            }
        ]
    }


def test_workflow_parameters_and_their_defaults():
    assert parameters(workflow_template()) == {
        "numParts": "5",
        "partSize": "",
        "input": "log-count-data.txt",
        "keywords": "INFO,WARN,ERROR,DEBUG",
        "match": "substring",
        "minSuccessRatio": "1",
    }


def test_parameter_defaults_follow_job_values():
    job = {
        "numParts": 12,
        "partSize": "64MiB",
        "input": "logs/",
        "keywords": "E",
        "match": "word",
        "minSuccessRatio": "0.95",
    }
    assert parameters(workflow_template({"job": job})) == {
        "numParts": "12",
        "partSize": "64MiB",
        "input": "logs/",
        "keywords": "E",
        "match": "word",
        "minSuccessRatio": "0.95",
    }


def test_merge_gets_the_min_success_ratio_parameter():
    merge = templates_by_name(workflow_template())["merge"]
    assert args_of(merge)["--min-success-ratio"] == "{{workflow.parameters.minSuccessRatio}}"


@pytest.mark.parametrize(
    ("map_phase", "runs"),
    [
        # map's group phase (its last failed item's, else Succeeded): merge runs after each,
        # so with minSuccessRatio below 1 it can merge what was counted.
        ("Succeeded", True),
        ("Failed", True),
        ("Errored", True),
        ("Skipped", True),  # an empty fan-out, as the bare `depends: map` allowed
        # split failed: nothing to merge.
        ("Omitted", False),
    ],
)
def test_merge_runs_whatever_the_counts_outcome_but_not_without_a_split(map_phase, runs):
    rule = depends.parse(tasks_by_name(workflow_template())["reduce"]["depends"])
    flags = dict.fromkeys(depends.RESULTS, False) | {map_phase: True}
    assert rule.evaluate({"map": flags}) is runs


def test_split_gets_every_sizing_flag_and_the_per_run_workdir():
    # split.py: an empty --part-size means "not set"; a non-empty one wins over --parts.
    split = templates_by_name(workflow_template({"job": {"maxParts": 64}}))["split"]
    assert args_of(split) == {
        "--input": "/data/{{workflow.parameters.input}}",
        "--root": "/data",
        "--workdir": "/data/runs/{{workflow.name}}",
        "--parts": "{{workflow.parameters.numParts}}",
        "--part-size": "{{workflow.parameters.partSize}}",
        "--keywords": "{{workflow.parameters.keywords}}",
        "--match": "{{workflow.parameters.match}}",
        "--max-parts": "64",
    }


def test_mount_path_value_moves_every_path():
    template = workflow_template({"storage": {"mountPath": "/mnt/shared"}})
    for step in STEPS:
        step_template = templates_by_name(template)[step]
        assert args_of(step_template)["--workdir"] == "/mnt/shared/runs/{{workflow.name}}"
        mounts = {m["name"]: m["mountPath"] for m in step_template["container"]["volumeMounts"]}
        assert mounts["data"] == "/mnt/shared"


@pytest.mark.parametrize("step", STEPS)
def test_every_step_runs_its_script_from_the_code_volume(step):
    template = workflow_template(
        {"image": {"registry": "registry.example.com", "tag": "3.12.99-slim"}}
    )
    container = templates_by_name(template)[step]["container"]
    assert container["command"] == ["python", f"/opt/log-count/{step}.py"]
    assert container["image"] == "registry.example.com/library/python:3.12.99-slim"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["env"] == [
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    assert container["volumeMounts"] == [
        {"name": "data", "mountPath": "/data"},
        {"name": "code", "mountPath": "/opt/log-count", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["code"] == {"name": "code", "configMap": {"name": f"{RELEASE}-code"}}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
    claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
    assert re.fullmatch(rf"{RELEASE}-data-[0-9a-f]{{8}}", claim)


def test_image_without_registry():
    container = templates_by_name(workflow_template({"image": {"registry": ""}}))["split"][
        "container"
    ]
    assert container["image"] == "library/python:3.12.12-slim"


def test_resources_per_step_from_values():
    limits = {"cpu": "3", "memory": "6Gi", "nvidia.com/gpu": 1}
    resources = {"requests": {"cpu": "3", "memory": "6Gi"}, "limits": limits}
    steps = templates_by_name(workflow_template({"resources": {"count": resources}}))
    assert steps["count"]["container"]["resources"] == resources
    assert steps["split"]["container"]["resources"]["requests"] == {
        "cpu": "250m",
        "memory": "256Mi",
    }


@pytest.mark.parametrize("step", STEPS)
def test_every_step_is_locked_down(step):
    template = workflow_template({"podSecurityContext": {"runAsUser": 4242, "runAsGroup": 4343}})
    step_template = templates_by_name(template)[step]
    assert step_template["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 4242,
        "runAsGroup": 4343,
        "fsGroup": 1000,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert step_template["container"]["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_fs_group_is_left_out_when_unset():
    template = workflow_template({"podSecurityContext": {"fsGroup": None}})
    for step in STEPS:
        context = templates_by_name(template)[step]["securityContext"]
        assert "fsGroup" not in context and "fsGroupChangePolicy" not in context


@pytest.mark.parametrize("step", STEPS)
def test_every_step_retries_always_with_backoff_from_values(step):
    retry = {"limit": 7, "backoff": {"duration": "45s", "factor": 3, "maxDuration": "1h"}}
    template = workflow_template({"workflow": {"retry": retry}})
    assert templates_by_name(template)[step]["retryStrategy"] == {
        "limit": 7,
        "retryPolicy": "Always",
        "expression": 'lastRetry.exitCode != "2"',
        "backoff": {"duration": "45s", "factor": 3, "maxDuration": "1h"},
    }


@pytest.mark.parametrize("step", STEPS)
def test_retries_have_no_max_duration_by_default(step):
    # A maxDuration stops retries (and kills retried pods) that long after the first attempt
    # started, whatever the run's deadline: left out unless asked for.
    backoff = templates_by_name(workflow_template())[step]["retryStrategy"]["backoff"]
    assert backoff == {"duration": "10s", "factor": 2}


def test_zero_retries_are_kept():
    template = workflow_template({"workflow": {"retry": {"limit": 0}}})
    assert templates_by_name(template)["count"]["retryStrategy"]["limit"] == 0


def test_run_limits_from_values():
    workflow = {
        "parallelism": 33,
        "activeDeadlineSeconds": 600,
        "podGC": {"strategy": "OnWorkflowCompletion", "deleteDelayDuration": "2m"},
        "ttlStrategy": {"secondsAfterCompletion": 0},
    }
    template = workflow_template({"workflow": workflow})
    spec = template["spec"]
    assert templates_by_name(template)["main"]["parallelism"] == 33
    assert "parallelism" not in spec  # per DAG, so it bounds the fan-out of this template
    assert spec["activeDeadlineSeconds"] == 600
    assert spec["podGC"] == {"strategy": "OnWorkflowCompletion", "deleteDelayDuration": "2m"}
    assert spec["ttlStrategy"] == {
        "secondsAfterCompletion": 0,
        "secondsAfterSuccess": 86400,
        "secondsAfterFailure": 604800,
    }


def test_run_limit_defaults():
    spec = workflow_template()["spec"]
    assert spec["podGC"] == {"strategy": "OnPodSuccess"}
    assert spec["activeDeadlineSeconds"] == 7200
    assert templates_by_name(workflow_template())["main"]["parallelism"] == 10


def test_empty_pod_gc_strategy_keeps_pods():
    spec = workflow_template({"workflow": {"podGC": {"strategy": ""}}})["spec"]
    assert "podGC" not in spec


def test_image_pull_secrets_from_values():
    secrets = [{"name": "registry-credentials"}]
    assert workflow_template({"imagePullSecrets": secrets})["spec"]["imagePullSecrets"] == secrets
    assert "imagePullSecrets" not in workflow_template()["spec"]
