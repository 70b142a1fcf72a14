"""The chart's step pods, as Argo builds them with our executor settings, pass Pod Security
"restricted" (the level infra/podsecurity.py enforces on the namespaces we create)."""

from __future__ import annotations

import pytest

from infra.argo import EXECUTOR_SECURITY_CONTEXT
from tests.chart.scenarios import job_scenarios, render_scenario
from tests.support.pod_security import step_pod, violations
from workflows.chart import CHARTS_DIR


def step_pods(objects, executor_security_context):
    """(where, pod) for every container template of the WorkflowTemplate and CronWorkflow."""
    for obj in objects:
        if obj["kind"] == "WorkflowTemplate":
            spec = obj["spec"]
        elif obj["kind"] == "CronWorkflow":
            spec = obj["spec"]["workflowSpec"]
        else:
            continue
        for template in spec.get("templates", []):
            if "container" in template:
                where = f"{obj['kind']} {template['name']}"
                yield where, step_pod(spec, template, executor_security_context)


JOB_CASES = [(CHARTS_DIR / chart, scenario) for chart, scenario in job_scenarios()]


@pytest.mark.parametrize(
    ("chart", "scenario"), JOB_CASES, ids=[f"{c.name}-{s}" for c, s in JOB_CASES]
)
def test_step_pods_pass_restricted_with_our_executor(chart, scenario):
    pods = list(step_pods(render_scenario(scenario, chart), EXECUTOR_SECURITY_CONTEXT))
    (template,) = [o for o in render_scenario(scenario, chart) if o["kind"] == "WorkflowTemplate"]
    containers = [t for t in template["spec"]["templates"] if "container" in t]
    assert containers and len(pods) == len(containers)
    for where, pod in pods:
        assert violations(pod, "restricted") == [], where


def test_an_unconfigured_executor_fails_restricted():
    """What argo-helm's default (empty executor.securityContext) gives: init/wait are refused."""
    (_where, pod), *_ = step_pods(render_scenario("defaults"), None)
    found = violations(pod, "restricted")
    assert any("initContainers[init]" in v and v.startswith("Privilege Escalation") for v in found)
    assert any("containers[wait]" in v and v.startswith("Capabilities") for v in found)
    assert violations(pod, "baseline") == []  # what the workload namespace enforces elsewhere
