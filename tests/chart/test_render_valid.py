"""Every object of every scenario is valid: core objects for Kubernetes, Argo ones for its CRDs."""

from __future__ import annotations

import copy

import pytest

from tests.chart.scenarios import only, render, render_scenario, scenario_names
from tests.support.schemas import (
    ARGO_VERSIONS,
    SchemaError,
    is_argo,
    requires_argo_crds,
    validate_argo,
    validate_kubernetes,
)

DNS_LABEL_MAX = 63
CRON_WORKFLOW_NAME_MAX = 52  # Argo appends "-<timestamp>" to name each run


@pytest.mark.parametrize("scenario", scenario_names())
def test_core_objects_are_valid_kubernetes(scenario):
    core = [obj for obj in render_scenario(scenario) if not is_argo(obj)]
    assert core
    for obj in core:
        validate_kubernetes(obj)


@requires_argo_crds
@pytest.mark.parametrize("version", ARGO_VERSIONS)
@pytest.mark.parametrize("scenario", scenario_names())
def test_argo_objects_are_valid_for_the_crds(scenario, version):
    argo = [obj for obj in render_scenario(scenario) if is_argo(obj)]
    assert argo
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


@pytest.mark.parametrize("scenario", scenario_names())
def test_names_fit_kubernetes_limits(scenario):
    for obj in render_scenario(scenario):
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
