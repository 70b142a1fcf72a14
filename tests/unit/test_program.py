"""The real __main__.py under Pulumi mocks, per committed stack file (dev: kind, existing)."""

from __future__ import annotations

import base64
import json
import re

import pulumi
import pytest
import yaml

from common import argolines, exports
from infra.argo import CONTROLLER_ACCOUNT, SERVER_ACCOUNT, SERVER_LOCAL_ONLY_POLICY
from infra.cluster import MissingToolError, kind_create_script, kind_delete_script
from infra.config import ConfigError
from tests.support.pulumi_mocks import ProgramRun, Registered, fake_kubeconfig, run_program
from tests.support.schemas import requires_argo_crds, validate_kubernetes, validate_object
from workflows.chart import CHARTS_DIR, LOG_COUNT_CHART, PLATFORM_CHART, render_chart

RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER = "pulumi:providers:kubernetes"
COMMAND = "command:local:Command"
NAMESPACE = "kubernetes:core/v1:Namespace"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
STACKS = ("dev", "existing")


@pytest.fixture(scope="module")
def existing_home(tmp_path_factory):
    """A HOME whose ~/.kube/config has the context Pulumi.existing.yaml names, among others."""
    home = tmp_path_factory.mktemp("home")
    document = yaml.safe_load(fake_kubeconfig("other"))
    mine = yaml.safe_load(fake_kubeconfig("my-cluster", server="https://10.1.2.3:6443"))
    for key in ("clusters", "users", "contexts"):
        document[key] += mine[key]
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text(yaml.safe_dump(document))
    return home


@pytest.fixture(scope="module")
def runs(existing_home) -> dict[str, ProgramRun]:
    """One program run per committed stack file, shared by every test of this module."""
    return {
        "dev": run_program("dev"),
        "existing": run_program("existing", env={"HOME": str(existing_home), "KUBECONFIG": ""}),
    }


def releases(run: ProgramRun, chart: str) -> list[Registered]:
    return [r for r in run.of_type(RELEASE) if r.inputs["chart"].endswith(chart)]


def namespace_names(run: ProgramRun) -> list[str]:
    """The namespaces the program creates (and `pulumi destroy` deletes)."""
    return sorted(r.inputs["metadata"]["name"] for r in run.of_type(NAMESPACE))


def kubernetes_objects(run: ProgramRun) -> list[Registered]:
    return [r for r in run.resources if r.type.startswith("kubernetes:") and r.type != RELEASE]


def test_dev_inventory(runs):
    run = runs["dev"]
    assert len(releases(run, "argo-workflows")) == 1
    (workload,) = releases(run, "log-count")
    assert workload.inputs["chart"] == "./.charts/log-count"  # not this checkout's absolute path
    assert namespace_names(run) == ["argo", "argo-fanout"]
    commands = {r.name: r for r in run.of_type(COMMAND)}
    cluster = commands["argo-fanout-kind-cluster"]
    assert cluster.inputs["create"] == kind_create_script("argo-fanout-dev")
    assert cluster.inputs["delete"] == kind_delete_script("argo-fanout-dev")
    kubeconfig = commands["argo-fanout-kind-kubeconfig"]
    assert kubeconfig.inputs["create"] == "kind get kubeconfig --name argo-fanout-dev"
    # Its stdout is the admin kubeconfig: a secret output, never logged.
    assert kubeconfig.inputs["logging"] == "stderr"
    assert "stdout" in kubeconfig.additional_secret_outputs
    kind_config = yaml.safe_load(cluster.inputs["stdin"])
    assert kind_config["nodes"][0]["role"] == "control-plane"
    assert kind_config["nodes"][0]["extraMounts"] == [
        {
            "hostPath": cluster.inputs["environment"]["DATA_DIR"],
            "containerPath": "/var/local/argo-fanout",
        }
    ]
    assert len(run.of_type(PROVIDER)) == 1
    # Provider inputs travel JSON-encoded, as provider configuration does.
    assert run.one(PROVIDER).inputs["deleteUnreachable"] == "true"


def test_existing_inventory(runs):
    run = runs["existing"]
    assert run.of_type(COMMAND) == []
    assert len(releases(run, "argo-workflows")) == 1
    provider = run.one(PROVIDER)
    assert provider.inputs["context"] == "my-cluster"
    kubeconfig = yaml.safe_load(run.outputs[exports.KUBECONFIG])
    assert kubeconfig["current-context"] == "my-cluster"
    assert exports.DATA_DIR not in run.outputs
    # existingClaim: the claim, so its namespace, exists; destroy must leave both.
    assert namespace_names(run) == ["argo"]
    (workload,) = releases(run, "log-count")
    assert workload.inputs["namespace"] == "argo-fanout"


@pytest.mark.parametrize("stack", STACKS)
def test_component_tree(runs, stack):
    run = runs[stack]
    (platform,) = run.of_type("argo-fanout:index:Platform")
    components = {r.urn for r in run.resources if not r.custom}
    for resource in run.resources:
        if resource is not platform:
            assert resource.parent in components, f"{resource.name} is not parented to a component"
            assert platform in run.ancestors(resource)
    types = {r.type for r in run.resources if not r.custom}
    target = "KindCluster" if stack == "dev" else "ExistingCluster"
    assert types == {
        "argo-fanout:index:Platform",
        f"argo-fanout:cluster:{target}",
        "argo-fanout:argo:ArgoInstall",
        "argo-fanout:argo:Postgres",  # argo.persistence, on by default where we install Argo
        "argo-fanout:workload:Workload",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_resource_uses_the_explicit_provider(runs, stack):
    run = runs[stack]
    provider = run.one(PROVIDER)
    kubernetes = kubernetes_objects(run) + run.of_type(RELEASE)
    assert kubernetes
    for resource in kubernetes:
        assert resource.provider_urn == provider.urn, resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_ordering(runs, stack):
    run = runs[stack]
    (argo,) = releases(run, "argo-workflows")
    (workload,) = releases(run, "log-count")
    assert run.depends_on(workload, argo), "the workload chart must wait for Argo's CRDs"
    namespaces = {r.inputs["metadata"]["name"]: r for r in run.of_type(NAMESPACE)}
    assert run.depends_on(argo, namespaces["argo"])
    if stack == "dev":
        assert run.depends_on(workload, namespaces["argo-fanout"])
        # Destroyed in reverse: the workload namespace goes while Argo still runs.
        assert run.depends_on(namespaces["argo-fanout"], argo)
    if stack == "dev":
        commands = {r.name: r for r in run.of_type(COMMAND)}
        assert run.depends_on(
            commands["argo-fanout-kind-kubeconfig"], commands["argo-fanout-kind-cluster"]
        )
        assert run.depends_on(run.one(PROVIDER), commands["argo-fanout-kind-kubeconfig"])


@pytest.mark.parametrize("stack", STACKS)
def test_outputs(runs, stack):
    run = runs[stack]
    assert run.secret_outputs == {exports.KUBECONFIG}
    assert "kubeconfig" in run.one(PROVIDER).secret_inputs
    kubeconfig = yaml.safe_load(run.outputs[exports.KUBECONFIG])
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://")
    namespace = "argo-fanout"
    expected = {
        exports.TARGET: "kind" if stack == "dev" else "existing",
        # dev: hostPath on kind.dataDir; existing: the user's claim, which nothing here reaches.
        exports.INPUT_STAGING: "localDir" if stack == "dev" else "none",
        exports.OWNS_CLUSTER: stack == "dev",
        exports.ARGO_NAMESPACE: "argo",
        exports.WORKLOAD_NAMESPACE: namespace,
        exports.WORKFLOW_TEMPLATE: "log-count",
        exports.WORKFLOW_TEMPLATES: {"log-count": "log-count"},
        exports.SUBMIT_COMMAND: (
            f"argo submit -n {namespace} --from workflowtemplate/log-count "
            f"-p numParts={5 if stack == 'dev' else 8} --watch"
        ),
    }
    assert {key: run.outputs[key] for key in expected} == expected
    # dev: the chart's claim, named after its volume's identity; existing: the configured claim.
    claim = r"argo-fanout-data-[0-9a-f]{8}" if stack == "dev" else "log-count-data"
    assert re.fullmatch(claim, run.outputs[exports.VOLUME_CLAIM])
    if stack == "dev":
        assert run.outputs[exports.DATA_DIR].endswith("/.data/dev")


def test_kind_with_an_existing_claim_exports_no_data_dir():
    """`workflows submit --input` stages into dataDir, which pods on a claim would never see."""
    run = run_program("dev", {"storage": {"type": "existingClaim", "existingClaim": "logs"}})
    assert exports.DATA_DIR not in run.outputs
    assert run.outputs[exports.VOLUME_CLAIM] == "logs"
    # The stack creates this cluster, so it creates the namespace the claim is added to.
    assert namespace_names(run) == ["argo", "argo-fanout"]


@pytest.mark.parametrize(
    ("overrides", "workload_namespace", "created"),
    [
        ({"argo": {"createNamespace": False}}, "argo-fanout", ["argo-fanout"]),
        ({"workload": {"createNamespace": False}}, "argo-fanout", ["argo"]),
        (
            {
                "argo": {"createNamespace": False},
                "workload": {"namespace": "argo", "createNamespace": False},
            },
            "argo",
            [],
        ),
    ],
    ids=["argo-exists", "workload-exists", "both-share-one-that-exists"],
)
def test_existing_namespaces_are_deployed_into_by_name(overrides, workload_namespace, created):
    run = run_program("dev", overrides)
    assert namespace_names(run) == created
    (argo,) = releases(run, "argo-workflows")
    (workload,) = releases(run, "log-count")
    assert argo.inputs["namespace"] == run.outputs[exports.ARGO_NAMESPACE] == "argo"
    assert workload.inputs["namespace"] == workload_namespace
    assert run.outputs[exports.WORKLOAD_NAMESPACE] == workload_namespace
    managed = ["--managed-namespace", workload_namespace]
    assert argo.inputs["values"]["controller"]["extraArgs"][:2] == managed
    assert argo.inputs["values"]["server"]["extraArgs"] == managed
    roles = run.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert {role.inputs["metadata"]["namespace"] for role in roles} == {workload_namespace}
    # Without its namespace to wait for, the workload still waits for Argo's CRDs.
    assert run.depends_on(workload, argo)


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_objects_validate(runs, stack):
    objects = kubernetes_objects(runs[stack])
    assert objects
    for resource in objects:
        validate_kubernetes(resource.inputs)


@requires_argo_crds
@pytest.mark.parametrize("stack", STACKS)
def test_platform_and_log_count_releases_render_valid_objects(runs, stack):
    objects = []
    for chart, directory in (("platform", PLATFORM_CHART), ("log-count", LOG_COUNT_CHART)):
        (release,) = releases(runs[stack], chart)
        objects += render_chart(
            directory,
            release.inputs["values"],
            release=release.inputs["name"],
            namespace=release.inputs["namespace"],
        )
    kinds = {obj["kind"] for obj in objects}
    assert "WorkflowTemplate" in kinds
    for obj in objects:
        validate_object(obj)
    names = {(obj["kind"], obj["metadata"]["name"]) for obj in objects}
    run = runs[stack]
    assert ("WorkflowTemplate", run.outputs[exports.WORKFLOW_TEMPLATE]) in names
    claims = {name for kind, name in names if kind == "PersistentVolumeClaim"}
    if stack == "dev":
        assert claims == {run.outputs[exports.VOLUME_CLAIM]}
    else:  # existingClaim: the chart mounts the claim the config names and renders none
        assert claims == set()


def test_argo_values_per_target(runs):
    # Every caller brings a token, on kind too, unless the stack opts into local-only `server`.
    for stack, auth in (("dev", ["client"]), ("existing", ["client"])):
        (release,) = releases(runs[stack], "argo-workflows")
        values = release.inputs["values"]
        assert release.inputs["version"] == argolines.CHART_VERSION
        assert release.inputs["repositoryOpts"] == {"repo": "https://argoproj.github.io/argo-helm"}
        assert values["server"]["authModes"] == auth
        # A namespaced controller and server (Roles, --namespaced) managing the workload's.
        assert values["singleNamespace"] is True
        managed = ["--managed-namespace", "argo-fanout"]
        # The controller also gets its client's limits (argo.controller's defaults).
        assert values["controller"]["extraArgs"] == [*managed, "--qps", "50", "--burst", "100"]
        assert values["server"]["extraArgs"] == managed
        for component in ("controller", "server"):
            assert values[component]["clusterWorkflowTemplates"] == {"enabled": False}
        assert values["workflow"] == {
            "serviceAccount": {"create": False},
            "rbac": {"create": False},
        }
        assert values["crds"]["install"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_we_create_enforces_restricted_pod_security(runs, stack):
    namespaces = runs[stack].of_type(NAMESPACE)
    assert namespaces
    for namespace in namespaces:
        labels = namespace.inputs["metadata"]["labels"]
        for mode in ("enforce", "warn", "audit"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
            assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.34"


def test_workload_namespace_enforces_baseline_where_argo_is_not_ours():
    """Someone else's executor adds the init/wait containers: restricted would reject them."""
    run = run_program("dev", {"argo": {"install": False}})
    (namespace,) = run.of_type(NAMESPACE)
    labels = namespace.inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_argo_pods_and_executor_get_restricted_security_contexts(runs):
    (release,) = releases(runs["dev"], "argo-workflows")
    values = release.inputs["values"]
    runtime_default = {"type": "RuntimeDefault"}
    for component in ("controller", "server"):
        pod = values[component]["podSecurityContext"]
        assert pod == {"runAsNonRoot": True, "seccompProfile": runtime_default}
    executor = values["executor"]["securityContext"]
    assert executor["allowPrivilegeEscalation"] is False
    assert executor["capabilities"] == {"drop": ["ALL"]}
    assert executor["seccompProfile"] == runtime_default and executor["runAsNonRoot"] is True


def server_policies(run: ProgramRun) -> list[Registered]:
    return [
        r
        for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.inputs["metadata"]["name"] == SERVER_LOCAL_ONLY_POLICY
    ]


def test_an_unauthenticated_argo_server_admits_no_in_cluster_traffic(runs):
    assert server_policies(runs["dev"]) == []
    run = run_program("dev", {"argo": {"serverAuthMode": "server"}})
    (release,) = releases(run, "argo-workflows")
    assert release.inputs["values"]["server"]["authModes"] == ["server"]
    (policy,) = server_policies(run)
    assert policy.inputs["metadata"]["namespace"] == "argo"
    assert policy.inputs["spec"] == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "argo-workflows-server",
                "app.kubernetes.io/instance": "argo-workflows",
            }
        },
        "policyTypes": ["Ingress"],
        "ingress": [],
    }


@pytest.mark.parametrize("stack", STACKS)
def test_argo_acts_in_the_workload_namespace_through_roles_there(runs, stack):
    run = runs[stack]
    roles = {r.inputs["metadata"]["name"]: r for r in run.of_type(ROLE)}
    bindings = {r.inputs["metadata"]["name"]: r for r in run.of_type(ROLE_BINDING)}
    assert set(roles) == set(bindings) == {CONTROLLER_ACCOUNT, SERVER_ACCOUNT}
    (workload,) = releases(run, "log-count")
    (argo,) = releases(run, "argo-workflows")
    for name, role in roles.items():
        assert role.inputs["metadata"]["namespace"] == "argo-fanout"
        binding = bindings[name]
        assert binding.inputs["subjects"] == [
            {"kind": "ServiceAccount", "name": name, "namespace": "argo"}
        ]
        assert binding.inputs["roleRef"]["name"] == name
        assert run.depends_on(workload, binding) and run.depends_on(role, argo)
    controller_rules = roles[CONTROLLER_ACCOUNT].inputs["rules"]
    assert any(
        rule["resources"] == ["pods"] and "create" in rule["verbs"] for rule in controller_rules
    )
    assert run.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") == []


def test_missing_tools_fail_early_with_their_names():
    with pytest.raises(MissingToolError, match=r"^docker not found on PATH; target kind needs"):
        run_program("dev", tools=["kind"])
    with pytest.raises(MissingToolError, match=r"^docker, kind not found on PATH"):
        run_program("dev", tools=[])


def test_kind_cluster_is_replaced_on_any_change():
    """pulumi-command re-runs `create` in place on a changed input unless told to replace."""
    renamed = run_program("dev", {"kind": {"clusterName": "lab", "workers": 1}})
    commands = {r.name: r for r in renamed.of_type(COMMAND)}
    cluster = commands["argo-fanout-kind-cluster"]
    assert "*" in cluster.replace_on_changes  # pulumi-command adds its own "triggers[*]"
    # The old cluster goes first (its state's delete names it), then the new one is created.
    assert cluster.delete_before_replace
    # What a replacement runs: each state's delete removes exactly the cluster its create made.
    assert cluster.inputs["create"] == kind_create_script("lab")
    assert cluster.inputs["delete"] == kind_delete_script("lab")
    assert commands["argo-fanout-kind-kubeconfig"].inputs["create"] == (
        "kind get kubeconfig --name lab"
    )
    assert len(yaml.safe_load(cluster.inputs["stdin"])["nodes"]) == 2


def merged_kubeconfig(*documents: str) -> dict:
    merged = yaml.safe_load(documents[0])
    for document in documents[1:]:
        for key in ("clusters", "users", "contexts"):
            merged[key] += yaml.safe_load(document)[key]
    return merged


def test_existing_kubeconfig_is_reduced_to_the_selected_context(existing_home):
    run = run_program("existing", env={"HOME": str(existing_home), "KUBECONFIG": ""})
    exported = yaml.safe_load(run.outputs[exports.KUBECONFIG])
    assert exported == yaml.safe_load(fake_kubeconfig("my-cluster", server="https://10.1.2.3:6443"))
    assert "other" not in run.outputs[exports.KUBECONFIG]


def test_existing_kubeconfig_files_are_inlined(tmp_path):
    """Like `kubectl config view --minify --flatten`, relative paths from the file's directory."""
    (tmp_path / "pki").mkdir()
    files = {"ca.crt": b"CA", "client.crt": b"CERT", "client.key": b"KEY", "token": b"tok\n"}
    for name, content in files.items():
        (tmp_path / "pki" / name).write_bytes(content)
    document = yaml.safe_load(fake_kubeconfig("lab"))
    document["clusters"][0]["cluster"]["certificate-authority"] = "pki/ca.crt"
    document["users"][0]["user"] = {
        "client-certificate": str(tmp_path / "pki" / "client.crt"),
        "client-key": "pki/client.key",
        "tokenFile": "pki/token",
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(document))
    run = run_program("existing", {"existing": {"kubeconfig": str(path), "context": "lab"}})
    exported = yaml.safe_load(run.outputs[exports.KUBECONFIG])
    (cluster,) = exported["clusters"]
    assert cluster["cluster"] == {
        "server": "https://127.0.0.1:6443",
        "certificate-authority-data": base64.b64encode(b"CA").decode(),
    }
    (user,) = exported["users"]
    assert user["user"] == {
        "client-certificate-data": base64.b64encode(b"CERT").decode(),
        "client-key-data": base64.b64encode(b"KEY").decode(),
        "token": "tok",
    }


def test_existing_kubeconfig_errors(existing_home, tmp_path):
    home = {"HOME": str(existing_home), "KUBECONFIG": ""}
    with pytest.raises(
        ConfigError,
        match=r"^existing\.context: 'nope' is not among the contexts of the kubeconfig from "
        r"the default ~/.kube/config; it has \['other', 'my-cluster'\]$",
    ):
        run_program("existing", {"existing": {"context": "nope"}}, env=home)
    missing = tmp_path / "absent"
    with pytest.raises(
        ConfigError, match=re.escape(f"existing.kubeconfig: kubeconfig file '{missing}'")
    ):
        run_program("existing", {"existing": {"kubeconfig": str(missing)}})
    unreadable = yaml.safe_load(fake_kubeconfig("lab"))
    unreadable["users"][0]["user"] = {"client-key": str(tmp_path / "gone.key")}
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "existing.kubeconfig: user 'lab' of context 'lab' of the kubeconfig from "
            f"existing.kubeconfig refers to client-key '{tmp_path / 'gone.key'}', which cannot "
            "be read: No such file or directory"
        ),
    ):
        run_program("existing", {"existing": {"kubeconfig": yaml.safe_dump(unreadable)}})
    no_current = yaml.safe_load(fake_kubeconfig("lab"))
    del no_current["current-context"]
    with pytest.raises(
        ConfigError, match=r"^existing\.context: unset, and the kubeconfig from existing"
    ):
        run_program("existing", {"existing": {"kubeconfig": yaml.safe_dump(no_current)}})


@pytest.mark.parametrize("encode", [yaml.safe_dump, json.dumps], ids=["yaml", "one-line-json"])
def test_existing_kubeconfig_content_is_used(encode):
    document = merged_kubeconfig(fake_kubeconfig("inline"), fake_kubeconfig("spare"))
    run = run_program("existing", {"existing": {"kubeconfig": encode(document)}})
    expected = yaml.safe_load(fake_kubeconfig("inline"))  # the current context only
    assert yaml.safe_load(run.outputs[exports.KUBECONFIG]) == expected
    provider = run.one(PROVIDER)
    assert yaml.safe_load(provider.inputs["kubeconfig"]) == expected
    assert "kubeconfig" in provider.secret_inputs


def test_submit_command_uses_the_final_chart_values():
    """workload.values is merged last, so a numParts set there is what the template gets."""
    old = {"jobs": {}, "workload": {"numParts": 5, "values": {"job": {"numParts": 9}}}}
    new = {"jobs": {"log-count": {"values": {"job": {"numParts": 9}}}}}
    for overrides in (old, new):
        run = run_program("dev", overrides)
        (release,) = releases(run, "log-count")
        assert release.inputs["values"]["job"]["numParts"] == 9
        assert "-p numParts=9 " in run.outputs[exports.SUBMIT_COMMAND]


# log-count's Release as stacks created before the `jobs` map registered it (as the mocks write
# URNs: the parent's type, then the resource's): its URN must not change, or `pulumi up` after
# the upgrade would delete and re-create the release (and with it the WorkflowTemplate, its
# CronWorkflow and the running workflows' template).
LOG_COUNT_URN = (
    "urn:pulumi:{stack}::argo-fanout::argo-fanout:workload:Workload$"
    "kubernetes:helm.sh/v3:Release::argo-fanout-workload-release"
)


@pytest.mark.parametrize("stack", STACKS)
def test_log_count_keeps_its_release_urn(runs, stack):
    run = runs[stack]
    (release,) = releases(run, "log-count")
    assert release.urn == LOG_COUNT_URN.format(stack=stack)
    # What the real engine's URN is made of besides: the same parents, with the same names.
    assert [(r.type, r.name) for r in run.ancestors(release)] == [
        ("argo-fanout:workload:Workload", "argo-fanout-workload"),
        ("argo-fanout:index:Platform", "argo-fanout"),
    ]


def test_every_job_is_a_release_of_its_own_on_the_platform_release():
    run = run_program(
        "dev",
        {
            "jobs": {
                "hello-world": {"values": {"job": {"message": "hi"}}},
                "diamond": {"chart": "dag-diamond", "parallelism": 2},
            }
        },
    )
    (log_count,) = releases(run, "log-count")
    assert log_count.urn == LOG_COUNT_URN.format(stack="dev")  # adding jobs leaves it be
    (platform,) = releases(run, "platform")
    (hello,) = releases(run, "hello-world")
    (diamond,) = releases(run, "dag-diamond")
    assert hello.name == "argo-fanout-workload-job-hello-world"
    assert (hello.inputs["name"], diamond.inputs["name"]) == ("hello-world", "diamond")
    for release in (log_count, hello, diamond):
        assert platform.urn in release.dependencies
        assert release.inputs["values"]["platform"] == log_count.inputs["values"]["platform"]
        assert release.inputs["namespace"] == "argo-fanout"
    assert hello.inputs["values"]["job"] == {"message": "hi"}
    assert diamond.inputs["values"]["workflow"]["parallelism"] == 2
    assert run.outputs[exports.WORKFLOW_TEMPLATES] == {
        "log-count": "log-count",
        "hello-world": "hello-world",
        "diamond": "diamond",
    }
    assert run.outputs[exports.WORKFLOW_TEMPLATE] == "log-count"


@requires_argo_crds
def test_a_seed_job_release_renders_valid_objects():
    run = run_program("dev", {"jobs": {"loops": {"values": {"job": {"end": 3}}}}})
    (release,) = releases(run, "loops")
    assert release.inputs["chart"] == "./.charts/loops"
    objects = render_chart(
        CHARTS_DIR / "loops",
        release.inputs["values"],
        release="loops",
        namespace="argo-fanout",
    )
    assert ("WorkflowTemplate", "loops") in [(o["kind"], o["metadata"]["name"]) for o in objects]
    for obj in objects:
        validate_object(obj)


def test_a_bad_job_value_stops_the_program_naming_job_key_value_and_rule():
    with pytest.raises(Exception, match=r"jobs.loops: chart value job.end: 'x' is not allowed"):
        run_program("dev", {"jobs": {"loops": {"values": {"job": {"end": "x"}}}}})


def test_old_workload_keys_are_logged_once_each_as_deprecated(monkeypatch):
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: warned.append(message))
    run = run_program("dev", {"jobs": {}, "workload": {"numParts": 7, "retries": 1}})
    assert warned == [
        "workload.numParts is deprecated: it is read as jobs.log-count.values.job.numParts; "
        "move it there (README: Configuration)",
        "workload.retries is deprecated: it is read as jobs.log-count.retries; "
        "move it there (README: Configuration)",
    ]
    (release,) = releases(run, "log-count")
    assert release.inputs["values"]["job"]["numParts"] == 7
    assert release.inputs["values"]["workflow"]["retry"] == {"limit": 1}


def test_kind_nodes_mount_data_dir_where_the_hostpath_volume_points():
    run = run_program("dev", {"storage": {"hostPath": {"path": "/srv/logs"}}})
    (cluster,) = [r for r in run.of_type(COMMAND) if r.name.endswith("-cluster")]
    mounts = yaml.safe_load(cluster.inputs["stdin"])["nodes"][0]["extraMounts"]
    assert [mount["containerPath"] for mount in mounts] == ["/srv/logs"]
    (release,) = releases(run, "platform")
    assert release.inputs["values"]["storage"]["hostPath"] == {"path": "/srv/logs"}


def test_existing_cluster_with_argo_already_installed(existing_home):
    run = run_program(
        "existing",
        {"argo": {"install": False}},
        env={"HOME": str(existing_home), "KUBECONFIG": ""},
    )
    assert releases(run, "argo-workflows") == []
    assert [r.type for r in run.resources if r.type == "argo-fanout:argo:ArgoInstall"] == []
    assert exports.ARGO_NAMESPACE not in run.outputs
    assert run.outputs[exports.WORKFLOW_TEMPLATE] == "log-count"
