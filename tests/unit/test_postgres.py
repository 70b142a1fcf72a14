"""argo.persistence and argo.controller under Pulumi mocks: the PostgreSQL objects, where its
password goes (and where it must not), the values Argo gets, and a Day-2 image upgrade."""

from __future__ import annotations

import json

import pytest

from common import exports
from infra import postgres
from infra.argo import CONTROLLER_POD_LABELS, SERVER_POD_LABELS, controller_values
from infra.config import POSTGRES_IMAGE, load
from tests.support.day2 import immutable_changes
from tests.support.pod_security import violations
from tests.support.pulumi_mocks import (
    RANDOM_PASSWORD,
    ProgramRun,
    Registered,
    fake_password,
    run_program,
)
from tests.support.schemas import validate_kubernetes

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
SERVICE = "kubernetes:core/v1:Service"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
POSTGRES_TYPES = (SECRET, CLAIM, SERVICE, STATEFUL_SET, NETWORK_POLICY)


@pytest.fixture(scope="module")
def dev() -> ProgramRun:
    return run_program("dev")


def argo_release(run: ProgramRun) -> Registered:
    (release,) = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == "argo-workflows"]
    return release


def password(run: ProgramRun) -> str:
    generated = run.one(RANDOM_PASSWORD)
    return fake_password(generated.name, int(generated.inputs["length"]))


def container(run: ProgramRun) -> dict:
    (only,) = run.one(STATEFUL_SET).inputs["spec"]["template"]["spec"]["containers"]
    return only


def test_dev_deploys_postgres_in_argos_namespace_under_the_argo_install(dev):
    (component,) = dev.of_type("argo-fanout:argo:Postgres")
    (install,) = dev.of_type("argo-fanout:argo:ArgoInstall")
    assert component.parent == install.urn
    provider = dev.one("pulumi:providers:kubernetes").urn
    for type_ in POSTGRES_TYPES:
        resource = dev.one(type_) if type_ != NETWORK_POLICY else _postgres_policy(dev)
        assert resource.parent == component.urn
        assert resource.provider_urn == provider
        assert resource.inputs["metadata"]["namespace"] == "argo"
        validate_kubernetes(resource.inputs)
    assert dev.one(RANDOM_PASSWORD).parent == component.urn
    assert container(dev)["image"] == POSTGRES_IMAGE
    claim = dev.one(CLAIM).inputs
    assert claim["metadata"]["name"] == "argo-postgres-data"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "8Gi"}},
    }
    # The StatefulSet mounts that claim: no volumeClaimTemplates, which could never change.
    spec = dev.one(STATEFUL_SET).inputs["spec"]
    assert "volumeClaimTemplates" not in spec
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "argo-postgres-data"}
    assert spec["serviceName"] == dev.one(SERVICE).inputs["metadata"]["name"]


def _postgres_policy(run: ProgramRun) -> Registered:
    (policy,) = [
        r for r in run.of_type(NETWORK_POLICY) if r.inputs["metadata"]["name"] == postgres.NAME
    ]
    return policy


def test_only_argos_controller_and_server_may_connect(dev):
    spec = _postgres_policy(dev).inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": postgres.LABELS}
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": CONTROLLER_POD_LABELS}},
        {"podSelector": {"matchLabels": SERVER_POD_LABELS}},
    ]
    assert rule["ports"] == [{"port": postgres.PORT}]


def test_the_database_pod_is_restricted(dev):
    template = dev.one(STATEFUL_SET).inputs["spec"]["template"]
    assert (
        violations({"metadata": template["metadata"], "spec": template["spec"]}, "restricted") == []
    )
    assert container(dev)["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_password_is_a_secret_and_goes_nowhere_else(dev):
    secret = dev.one(SECRET)
    value = password(dev)
    assert secret.inputs["stringData"] == {"username": postgres.USER, "password": value}
    assert "stringData" in secret.secret_inputs
    assert dev.one(RANDOM_PASSWORD).inputs["special"] is False
    # The container reads it by reference; no other resource's inputs and no output carry it.
    env = {e["name"]: e for e in container(dev)["env"]}
    assert env["POSTGRES_PASSWORD"] == {
        "name": "POSTGRES_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": postgres.NAME, "key": "password"}},
    }
    for resource in dev.resources:
        if resource is not secret and resource.type != RANDOM_PASSWORD:
            assert value not in json.dumps(resource.inputs, default=str), resource.name
    assert value not in json.dumps(dev.outputs, default=str)
    assert dev.secret_outputs == {exports.KUBECONFIG}


def test_argo_offloads_and_archives_to_that_database(dev):
    release = argo_release(dev)
    persistence = release.inputs["values"]["controller"]["persistence"]
    assert persistence == {
        "nodeStatusOffLoad": True,
        "archive": True,
        "postgresql": {
            "host": "argo-postgres.argo.svc.cluster.local",
            "port": 5432,
            "database": "argo",
            "tableName": "argo_workflows",
            "userNameSecret": {"name": "argo-postgres", "key": "username"},
            "passwordSecret": {"name": "argo-postgres", "key": "password"},
            "ssl": False,
        },
    }
    # The secret names Argo reads are the Secret's, and the host is the Service's.
    assert (
        dev.one(SECRET).inputs["metadata"]["name"]
        == persistence["postgresql"]["userNameSecret"]["name"]
    )
    service = dev.one(SERVICE).inputs["metadata"]
    assert persistence["postgresql"]["host"].startswith(
        f"{service['name']}.{service['namespace']}."
    )
    # The controller connects (and migrates the schema) at start: the database comes first.
    assert dev.depends_on(release, dev.one(STATEFUL_SET))
    namespace = [
        r
        for r in dev.of_type("kubernetes:core/v1:Namespace")
        if r.inputs["metadata"]["name"] == "argo"
    ]
    assert dev.depends_on(dev.one(STATEFUL_SET), namespace[0])


def test_archive_ttl_and_storage_settings_reach_their_objects():
    run = run_program(
        "dev",
        {
            "argo": {
                "persistence": {"archiveTTL": "30d", "storageSize": "20Gi", "storageClass": "fast"}
            }
        },
    )
    assert argo_release(run).inputs["values"]["controller"]["persistence"]["archiveTTL"] == "30d"
    claim = run.one(CLAIM).inputs
    assert claim["metadata"]["name"] == "argo-postgres-data-fast"
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    volumes = run.one(STATEFUL_SET).inputs["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "data",
        "persistentVolumeClaim": {"claimName": "argo-postgres-data-fast"},
    } in volumes


def test_persistence_disabled_deploys_no_database():
    run = run_program("dev", {"argo": {"persistence": {"enabled": False}}})
    assert run.of_type("argo-fanout:argo:Postgres") == []
    assert run.of_type(RANDOM_PASSWORD) == []
    assert [t for t in POSTGRES_TYPES if t != NETWORK_POLICY and run.of_type(t)] == []
    assert "persistence" not in argo_release(run).inputs["values"]["controller"]


def test_existing_stack_gets_the_database_too():
    run = run_program(
        "existing",
        {
            "argo-fanout:existing": {"context": "c", "kubeconfig": _kubeconfig()},
        },
    )
    assert run.one(STATEFUL_SET).inputs["metadata"]["namespace"] == "argo"
    assert "persistence" in argo_release(run).inputs["values"]["controller"]


def _kubeconfig() -> str:
    from tests.support.pulumi_mocks import fake_kubeconfig

    return fake_kubeconfig("c")


def test_a_new_postgres_image_is_an_in_place_update_on_the_same_claim(dev):
    """Day 2: a minor upgrade changes the StatefulSet's image and nothing that replaces."""
    newer = "docker.io/library/postgres:17.7-bookworm"
    upgraded = run_program("dev", {"argo": {"persistence": {"image": newer}}})
    assert immutable_changes(dev, upgraded) == []
    assert container(upgraded)["image"] == newer
    before, after = dev.one(STATEFUL_SET), upgraded.one(STATEFUL_SET)
    assert (before.name, before.inputs["metadata"]) == (after.name, after.inputs["metadata"])
    for field in ("selector", "serviceName", "replicas"):
        assert before.inputs["spec"][field] == after.inputs["spec"][field]
    # The claim, the Secret and the password are untouched: same data, same credentials.
    for type_ in (CLAIM, SECRET, RANDOM_PASSWORD, SERVICE):
        assert dev.one(type_).inputs == upgraded.one(type_).inputs, type_
        assert dev.one(type_).name == upgraded.one(type_).name


def test_controller_settings_reach_argo_helm_values():
    run = run_program(
        "dev",
        {
            "argo": {
                "controller": {
                    "qps": 12.5,
                    "burst": 40,
                    "workflowWorkers": 8,
                    "podCleanupWorkers": 24,
                    "workflowTTLWorkers": 2,
                    "resourceRateLimit": {"limit": 5, "burst": 10},
                    "parallelism": 3,
                }
            }
        },
    )
    controller = argo_release(run).inputs["values"]["controller"]
    assert controller["extraArgs"] == [
        "--managed-namespace",
        "argo-fanout",
        "--qps",
        "12.5",
        "--burst",
        "40",
    ]
    assert (
        controller["workflowWorkers"],
        controller["podCleanupWorkers"],
        controller["workflowTTLWorkers"],
        controller["parallelism"],
    ) == (8, 24, 2, 3)
    assert controller["resourceRateLimit"] == {"limit": 5.0, "burst": 10}


def test_default_controller_values_are_argo_helm_names():
    values = controller_values(load({}, "dev").argo.controller)
    assert values == {
        "workflowWorkers": 32,
        "podCleanupWorkers": 16,
        "workflowTTLWorkers": 4,
        "resourceRateLimit": {"limit": 20.0, "burst": 100},
    }


def test_ackone_installs_no_argo_and_no_database():
    run = run_program("ack")
    assert run.of_type("argo-fanout:argo:Postgres") == []
    assert run.of_type(RANDOM_PASSWORD) == []
