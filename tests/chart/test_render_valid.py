"""Every object of every scenario is valid: core objects for Kubernetes, Argo ones for its CRDs."""

from __future__ import annotations

import copy

import pytest

from tests.chart.scenarios import job_scenarios, only, render, render_scenario
from tests.support.schemas import (
    ARGO_VERSIONS,
    SchemaError,
    is_argo,
    requires_argo_crds,
    validate_argo,
    validate_kubernetes,
)
from workflows.chart import CHARTS_DIR

DNS_LABEL_MAX = 63
CRON_WORKFLOW_NAME_MAX = 52  # Argo appends "-<timestamp>" to name each run


# (job chart, scenario) of every job chart under charts/: log-count and the seed examples.
JOB_CASES = [(CHARTS_DIR / chart, scenario) for chart, scenario in job_scenarios()]
JOB_IDS = [f"{chart.name}-{scenario}" for chart, scenario in JOB_CASES]


@pytest.mark.parametrize(("chart", "scenario"), JOB_CASES, ids=JOB_IDS)
def test_core_objects_are_valid_kubernetes(chart, scenario):
    core = [obj for obj in render_scenario(scenario, chart) if not is_argo(obj)]
    assert core
    for obj in core:
        validate_kubernetes(obj)


@requires_argo_crds
@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize(("chart", "scenario"), JOB_CASES, ids=JOB_IDS)
def test_argo_objects_are_valid_for_the_crds(chart, scenario, version):
    argo = [obj for obj in render_scenario(scenario, chart) if is_argo(obj)]
    assert "WorkflowTemplate" in [obj["kind"] for obj in argo]
    for obj in argo:
        validate_argo(obj, version)


@requires_argo_crds
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_crd_validation_rejects_a_mistyped_template_field(version):
    # Guards the strictness the tests above rely on: an unknown field is an error.
    template = copy.deepcopy(only(render({}), "WorkflowTemplate"))
    template["spec"]["templates"][1]["retryStrategy"]["retryPolicyy"] = "Always"
    with pytest.raises(SchemaError, match="retryPolicyy"):
        validate_argo(template, version)


@pytest.mark.parametrize(("chart", "scenario"), JOB_CASES, ids=JOB_IDS)
def test_names_fit_kubernetes_limits(chart, scenario):
    for obj in render_scenario(scenario, chart):
        assert len(obj["metadata"]["name"]) <= DNS_LABEL_MAX, obj["metadata"]["name"]


def test_long_release_and_namespace_names_are_cut():
    release = "a-release-name-that-is-far-longer-than-any-kubernetes-label-allows"
    namespace = "a-namespace-name-that-is-also-quite-long-x"
    objects = render({"schedule": {"enabled": True}}, release=release, namespace=namespace)
    for obj in objects:
        name = obj["metadata"]["name"]
        assert len(name) <= DNS_LABEL_MAX and name[-1].isalnum(), name
        if not is_argo(obj):
            validate_kubernetes(obj)
    assert len(only(objects, "CronWorkflow")["metadata"]["name"]) <= CRON_WORKFLOW_NAME_MAX


def test_volume_names_differ_per_namespace_for_the_same_release():
    # PersistentVolumes are cluster-scoped: two installs of one release name must not collide,
    # even when the names are cut to fit.
    long_namespace = "team-" + "x" * 50
    names = {
        only(render({}, namespace=namespace), "PersistentVolume")["metadata"]["name"]
        for namespace in ("team-a", "team-b", long_namespace + "1", long_namespace + "2")
    }
    assert len(names) == 4, names
