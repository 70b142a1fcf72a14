"""infra/config.py: defaults, Pulumi's string forms, and one clear error per bad value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import argolines
from infra import config
from infra.config import ConfigError, load

ACK = {"target": "ackone"}


def ack(**keys):
    return load({**ACK, **keys}, "ack", region="cn-hangzhou")


def test_defaults_for_kind_follow_the_stack_name():
    cfg = load({}, "dev")
    assert cfg.target == "kind" and cfg.production is False
    assert cfg.kind == config.KindConfig(
        cluster_name="argo-fanout-dev",
        node_image=config.KIND_NODE_IMAGE,
        workers=0,
        data_dir=config.REPO_ROOT / ".data" / "dev",
        node_data_path=config.NODE_DATA_PATH,
    )
    assert cfg.argo == config.ArgoConfig(
        install=True,
        chart_version=argolines.CHART_VERSION,
        namespace="argo",
        create_namespace=True,
        server_auth_mode="client",
        controller=config.ControllerConfig(
            qps=50.0,
            burst=100,
            workflow_workers=32,
            pod_cleanup_workers=16,
            workflow_ttl_workers=4,
            resource_rate_limit=config.ResourceRateLimit(limit=20.0, burst=100),
            parallelism=None,
        ),
        persistence=config.PersistenceConfig(
            image=config.POSTGRES_IMAGE, storage_size="8Gi", storage_class=None, archive_ttl=None
        ),
        values={},
    )
    assert cfg.storage.type == "hostPath" and cfg.storage.size == "100Gi"
    assert cfg.storage.reclaim_policy == "Retain"
    assert cfg.storage.host_path == config.HostPathStorage(path="/var/local/argo-fanout")
    workload = cfg.workload
    assert workload.namespace == "argo-fanout" and workload.create_namespace is True
    assert workload.compute == config.ComputeConfig(profile="none", eci=None, acs=None)
    assert list(cfg.jobs) == ["log-count"] and cfg.deprecations == ()
    job = cfg.default_job
    assert (job.chart, job.parallelism, job.retries) == (config.LOG_COUNT_CHART, 50, 3)
    assert job.values == {
        "fullnameOverride": "log-count",
        "templateName": "log-count",
        "workflow": {"parallelism": 50, "retry": {"limit": 3}},
        "job": {"numParts": 5, "keywords": "INFO,WARN,ERROR,DEBUG", "match": "substring"},
    }


def test_node_image_is_pinned_with_a_digest():
    assert config.KIND_NODE_IMAGE.startswith("kindest/node:v1.34.0@sha256:")
    assert len(config.KIND_NODE_IMAGE.split("@sha256:")[1]) == 64


def test_pulumi_string_forms_are_parsed():
    """pulumi.Config hands over strings: objects as JSON, booleans/ints possibly as text."""
    cfg = load(
        {
            "production": "true",
            "kind": json.dumps({"workers": "2", "clusterName": "lab"}),
            "argo": json.dumps({"install": "false"}),
        },
        "dev",
    )
    assert cfg.production is True
    assert cfg.kind.workers == 2 and cfg.kind.cluster_name == "lab"
    assert cfg.argo.install is False


def test_defaults_for_ackone():
    cfg = ack()
    assert cfg.region == "cn-hangzhou"
    assert cfg.ackone == config.AckOneConfig(
        cluster_name="argo-fanout-ack",
        vpc_cidr="10.0.0.0/16",
        zones=None,
        vswitch_cidrs=("10.0.0.0/18", "10.0.64.0/18"),
        schedule_mode="stock-optimized",
        price_limit=None,
        argo_server=False,
        public_api_server=False,
        api_server_allowed_cidrs=(),
        audit_log=True,
        deletion_protection=False,
    )
    assert cfg.argo.install is False
    assert cfg.storage.type == "oss"
    assert cfg.storage.oss == config.OssStorage(
        bucket=None,
        path="/",
        versioning=False,
        force_destroy=True,
        expire_runs_after_days=7,
        fuse_type="ossfs",
        other_opts="-o max_stat_cache_size=0 -o allow_other",
        sample_input_size=None,
    )
    assert cfg.workload.compute.profile == "eci"


def test_production_flips_safe_defaults():
    cfg = ack(production=True)
    assert cfg.storage.oss.force_destroy is False
    assert cfg.ackone.deletion_protection is True
    explicit = ack(production=True, ackone={"deletionProtection": False})
    assert explicit.ackone.deletion_protection is False


def test_max_parallel_pods_counts_vswitch_addresses():
    # Two /18s: 2 * (16384 - 4) addresses, minus the system-pod headroom.
    assert ack().ackone.max_parallel_pods == 2 * (2**14 - 4) - config.SYSTEM_POD_HEADROOM
    small = ack(ackone={"vswitchCidrs": ["10.0.0.0/24", "10.0.1.0/25"]})
    assert small.ackone.max_parallel_pods == (256 - 4) + (128 - 4) - config.SYSTEM_POD_HEADROOM


def test_full_workload_section():
    cfg = load(
        {
            "workload": {
                "numParts": 8,
                "partSize": "64MiB",
                "keywords": ["ERROR"],
                "match": "word",
                "retries": 0,
                "image": {"registry": "registry.example.com", "tag": "3.12"},
                "resources": {"count": {"requests": {"cpu": "2", "memory": "1Gi"}}},
                "schedule": {"cron": "0 2 * * *", "timezone": "Asia/Shanghai"},
                "values": {"job": {"maxParts": 20}},
            }
        },
        "dev",
    )
    job = cfg.default_job
    assert job.retries == 0 and job.values["workflow"]["retry"] == {"limit": 0}
    assert job.values["job"] == {
        "numParts": 8,
        "partSize": "64MiB",
        "keywords": "ERROR",
        "match": "word",
        "maxParts": 20,
    }
    assert job.values["image"] == {"registry": "registry.example.com", "tag": "3.12"}
    assert job.values["resources"] == {"count": {"requests": {"cpu": "2", "memory": "1Gi"}}}
    assert job.values["schedule"] == {
        "enabled": True,
        "cron": "0 2 * * *",
        "timezone": "Asia/Shanghai",
    }
    assert cfg.workload.values == {}  # workload.values keys of the job went to the job
    # One warning line per old key, naming the new one.
    assert len(cfg.deprecations) == 9
    assert cfg.deprecations[0] == (
        "workload.numParts is deprecated: it is read as jobs.log-count.values.job.numParts; "
        "move it there (README: Configuration)"
    )
    assert (
        "workload.values.job is deprecated: it is read as jobs.log-count.values.job"
        in (cfg.deprecations[-1])
    )


def test_eci_and_acs_options():
    eci = ack(
        workload={
            "compute": {
                "eci": {
                    "useSpecs": ["2-4Gi", "ecs.c6.xlarge"],
                    "spotStrategy": "SpotWithPriceLimit",
                    "spotPriceLimit": "0.5",
                    "imageCache": True,
                    "extraEphemeralStorage": "20Gi",
                }
            }
        }
    ).workload.compute.eci
    assert eci == config.EciConfig(
        ("2-4Gi", "ecs.c6.xlarge"), "SpotWithPriceLimit", "0.5", True, "20Gi"
    )
    acs = ack(
        workload={"compute": {"profile": "acs", "acs": {"computeClass": "performance"}}}
    ).workload.compute
    assert acs.acs == config.AcsConfig("performance", None) and acs.eci is None


def test_sample_input_size_is_bytes():
    cfg = ack(storage={"oss": {"sampleInputSize": "64MiB"}})
    assert cfg.storage.oss.sample_input_size == 64 * 2**20


def existing(monkeypatch, kubeconfig_env: str | None = None, **fields):
    if kubeconfig_env is None:
        monkeypatch.delenv("KUBECONFIG", raising=False)
    else:
        monkeypatch.setenv("KUBECONFIG", kubeconfig_env)
    keys = {"target": "existing", "existing": fields, "storage": {"existingClaim": "data"}}
    return load(keys, "x")


def test_existing_needs_kubeconfig_or_context(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = existing(monkeypatch, context="prod")
    assert cfg.existing == config.ExistingConfig(
        kubeconfig_content=None,
        kubeconfig_path=tmp_path / ".kube" / "config",
        kubeconfig_source="the default ~/.kube/config",
        context="prod",
    )
    assert cfg.storage.type == "existingClaim" and cfg.argo.install is True


def test_existing_kubeconfig_default_is_kubeconfig_env_first_file(monkeypatch, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    cfg = existing(monkeypatch, f"{first}:{second}", context="prod").existing
    assert (cfg.kubeconfig_path, cfg.kubeconfig_source) == (first, "$KUBECONFIG")
    cfg = existing(monkeypatch, f":{second}", context="prod").existing  # empty entries skipped
    assert cfg.kubeconfig_path == second


@pytest.mark.parametrize(
    "content",
    [
        "apiVersion: v1\nkind: Config\ncontexts: []\n",
        '{"apiVersion": "v1", "kind": "Config", "contexts": []}',  # one line of JSON
    ],
    ids=["yaml", "one-line-json"],
)
def test_existing_kubeconfig_content_is_recognised_by_parsing(monkeypatch, content):
    cfg = existing(monkeypatch, "/never/read", kubeconfig=content).existing
    assert cfg.kubeconfig_content == content and cfg.kubeconfig_path is None


def test_existing_kubeconfig_path_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = existing(monkeypatch, kubeconfig="~/clusters/prod.yaml").existing
    assert cfg.kubeconfig_path == tmp_path / "clusters" / "prod.yaml"
    assert cfg.kubeconfig_content is None and cfg.kubeconfig_source == "existing.kubeconfig"


def test_existing_kubeconfig_that_does_not_parse_is_not_echoed(monkeypatch):
    secret = "token: *s3cret\n"
    with pytest.raises(ConfigError, match=r"^existing\.kubeconfig: neither a file path") as err:
        existing(monkeypatch, kubeconfig=secret)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("key", ["kind", "existing", "ackone", "argo", "storage", "workload"])
def test_an_empty_object_reads_like_an_absent_key(key):
    assert ack(**{key: {}}) == ack()
    assert load({key: "{}"}, "dev") == load({}, "dev")  # as pulumi.Config hands it over


def test_existing_with_an_empty_object_still_needs_a_field():
    with pytest.raises(ConfigError, match=r"^existing: target existing needs"):
        load({"target": "existing", "existing": {}}, "x")


def test_kind_nodes_mount_data_dir_where_the_host_path_volume_points():
    cfg = load({"storage": {"hostPath": {"path": "/srv/logs"}}}, "dev")
    assert cfg.kind.node_data_path == "/srv/logs"
    claim = load({"storage": {"type": "existingClaim", "existingClaim": "data"}}, "dev")
    assert claim.kind.node_data_path == config.NODE_DATA_PATH


def test_cluster_spot_mode_and_pod_spot_annotations_are_exclusive():
    spot_pods = {"compute": {"eci": {"spotStrategy": "SpotAsPriceGo"}}}
    with pytest.raises(ConfigError) as err:
        ack(ackone={"scheduleMode": "cost-optimized"}, workload=spot_pods)
    assert str(err.value).startswith(
        "workload.compute.eci.spotStrategy: 'SpotAsPriceGo' cannot be combined with "
        "ackone.scheduleMode 'cost-optimized'"
    )
    # Either one alone is fine.
    assert ack(workload=spot_pods).workload.compute.eci.spot_strategy == "SpotAsPriceGo"
    assert ack(ackone={"scheduleMode": "cost-optimized"}).ackone.schedule_mode == "cost-optimized"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"target": "gke"}, "target: 'gke' is not allowed; allowed: kind, existing, ackone"),
        ({"production": "yes"}, "production: 'yes' is not a boolean"),
        ({"kind": "workers=2"}, "kind: 'workers=2' is not an object"),
        ({"kind": {"worker": 1}}, "kind: unknown key(s) ['worker']"),
        ({"kind": {"workers": -1}}, "kind.workers: -1 is not an integer >= 0"),
        ({"kind": {"workers": True}}, "kind.workers: True is not an integer >= 0"),
        ({"kind": {"dataDir": "data"}}, "kind.dataDir: 'data' is not an absolute path"),
        (
            {"kind": {"nodeImage": "kindest/node:v1.34.0"}},
            "kind.nodeImage: 'kindest/node:v1.34.0' has no digest",
        ),
        ({"kind": {"clusterName": "Dev_1"}}, "kind.clusterName: 'Dev_1' is not a cluster name"),
        (
            {"ackone": {"argoServer": True}},
            "ackone: only allowed with target ackone; this stack's target is 'kind'",
        ),
        ({"target": "existing"}, "existing: target existing needs existing.kubeconfig"),
        (
            {"argo": {"chartVersion": "latest"}},
            "argo.chartVersion: 'latest' is not a chart version",
        ),
        ({"argo": {"namespace": "Argo"}}, "argo.namespace: 'Argo' is not a Kubernetes name"),
        ({"argo": {"values": [1]}}, "argo.values: [1] is not an object"),
        (
            {"storage": {"type": "oss"}},
            "storage.type: 'oss' is not allowed with target kind; allowed: hostPath, existingClaim",
        ),
        (
            {
                "target": "existing",
                "existing": {"context": "team"},
                "storage": {"type": "hostPath"},
            },
            "storage.type: 'hostPath' is not allowed with target existing; "
            "allowed: existingClaim, nas",
        ),
        ({"storage": {"size": "10 GB"}}, "storage.size: '10 GB' is not a Kubernetes quantity"),
        (
            {"storage": {"reclaimPolicy": "Recycle"}},
            "storage.reclaimPolicy: 'Recycle' is not allowed; allowed: Retain, Delete",
        ),
        (
            {"storage": {"type": "existingClaim"}},
            "storage.existingClaim: required with storage.type existingClaim",
        ),
        (
            {"storage": {"existingClaim": "data"}},
            "storage.existingClaim: only used with "
            "storage.type existingClaim; this stack's storage.type is 'hostPath'",
        ),
        (
            {"storage": {"hostPath": {"path": "relative"}}},
            "storage.hostPath.path: 'relative' is not an absolute path",
        ),
        ({"storage": {"hostPath": {"mode": "0777"}}}, "storage.hostPath: unknown key(s) ['mode']"),
        ({"workload": {"numParts": 0}}, "workload.numParts: 0 is not an integer >= 1"),
        ({"workload": {"parallelism": "many"}}, "workload.parallelism: 'many' is not an integer"),
        ({"workload": {"retries": -1}}, "workload.retries: -1 is not an integer >= 0"),
        (
            {"workload": {"partSize": "64 MB/s"}},
            "workload.partSize: invalid size '64 MB/s'; use a"
            " whole number of bytes with an optional suffix",
        ),
        ({"workload": {"partSize": "0MiB"}}, "workload.partSize: size '0MiB' must be at least 1"),
        ({"workload": {"partSize": 64}}, "workload.partSize: 64 is not a non-empty string"),
        (
            {"workload": {"keywords": ["ERROR", "ERROR"]}},
            "workload.keywords: keyword 'ERROR' is given twice",
        ),
        ({"workload": {"keywords": []}}, "workload.keywords: [] is empty"),
        ({"workload": {"keywords": "ERROR"}}, "workload.keywords: 'ERROR' is not a list"),
        ({"workload": {"keywords": ["A,B"]}}, "workload.keywords: 'A,B' contains a comma"),
        (
            {"workload": {"match": "regex"}},
            "workload.match: 'regex' is not allowed; allowed: substring, word",
        ),
        (
            {"workload": {"namespace": "x" * 64}},
            "workload.namespace: '" + "x" * 64 + "' is not a Kubernetes name",
        ),
        ({"workload": {"image": {"name": "python"}}}, "workload.image: unknown key(s) ['name']"),
        (
            {"workload": {"resources": {"reduce": {}}}},
            "workload.resources: unknown key(s) ['reduce']",
        ),
        (
            {"workload": {"resources": {"count": {"requests": {"gpu": "1"}}}}},
            "workload.resources.count.requests: unknown key(s) ['gpu']",
        ),
        (
            {"workload": {"resources": {"count": {"limits": {"cpu": "two"}}}}},
            "workload.resources.count.limits.cpu: 'two' is not a Kubernetes quantity",
        ),
        (
            {"workload": {"compute": {"profile": "eci"}}},
            "workload.compute.profile: 'eci' is not allowed with target kind; allowed: none",
        ),
        ({"workload": {"schedule": {"timezone": "UTC"}}}, "workload.schedule.cron: required"),
        (
            {"workload": {"schedule": {"cron": "daily"}}},
            "workload.schedule.cron: 'daily' is not a 5-field cron expression",
        ),
        (
            {"workload": {"schedule": {"cron": "0 2 * * *", "timezone": "Mars/Base"}}},
            "workload.schedule.timezone: 'Mars/Base' is not an IANA time zone",
        ),
        ({"workload": {"value": {}}}, "workload: unknown key(s) ['value']"),
        ({"storage": {"hostPath": False}}, "storage.hostPath: False is not an object"),
        (
            {"workload": {"namespace": "argo"}},
            "workload.namespace: 'argo' is argo.namespace too, and the program would create it",
        ),
        (
            {"workload": {"namespace": "argo", "createNamespace": False}},
            "workload.namespace: 'argo' is argo.namespace too, and the program would create it",
        ),
        (
            {"argo": {"createNamespace": "no"}},
            "argo.createNamespace: 'no' is not a boolean; allowed: true, false",
        ),
        (
            {"workload": {"createNamespace": 1}},
            "workload.createNamespace: 1 is not a boolean; allowed: true, false",
        ),
        ({"workload": {"compute": 0}}, "workload.compute: 0 is not an object"),
    ],
)
def test_bad_values_name_key_value_and_allowed(keys, message):
    with pytest.raises(ConfigError) as err:
        load(keys, "dev")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"storage": {"type": "hostPath"}},
            "storage.type: 'hostPath' is not allowed with target "
            "ackone; allowed: oss, nas, existingClaim",
        ),
        ({"argo": {"install": True}}, "argo.install: true is not allowed with target ackone"),
        (
            {"kind": {"workers": 1}},
            "kind: only allowed with target kind; this stack's target is 'ackone'",
        ),
        (
            {"ackone": {"vswitchCidrs": ["10.0.0.0/18"]}},
            "ackone.vswitchCidrs: ['10.0.0.0/18'] has fewer than 2 CIDRs",
        ),
        (
            {"ackone": {"vswitchCidrs": ["10.0.0.0/18", "10.1.0.0/18"]}},
            "ackone.vswitchCidrs: '10.1.0.0/18' is not inside ackone.vpcCidr '10.0.0.0/16'",
        ),
        (
            {"ackone": {"vswitchCidrs": ["10.0.0.0/18", "10.0.32.0/19"]}},
            "ackone.vswitchCidrs: '10.0.0.0/18' overlaps '10.0.32.0/19'",
        ),
        (
            {"ackone": {"vswitchCidrs": ["10.0.0.0/30", "10.0.0.4/30"]}},
            "ackone.vswitchCidrs: '10.0.0.0/30' has prefix /30; allowed /16 to /29",
        ),
        (
            {"ackone": {"vswitchCidrs": ["10.0.0.0/18", "10.0.300.0/18"]}},
            "ackone.vswitchCidrs[1]: '10.0.300.0/18' is not an IPv4 CIDR",
        ),
        (
            {"ackone": {"vpcCidr": "10.0.0.1/16"}},
            "ackone.vpcCidr: '10.0.0.1/16' is not an IPv4 CIDR",
        ),
        (
            {"ackone": {"zones": ["cn-hangzhou-h"]}},
            "ackone.zones: ['cn-hangzhou-h'] has 1 zones for 2 vSwitch CIDRs",
        ),
        (
            {"ackone": {"zones": ["cn-hangzhou-h", "cn-hangzhou-h"]}},
            "ackone.zones: ['cn-hangzhou-h', 'cn-hangzhou-h'] repeats a zone",
        ),
        (
            {"ackone": {"zones": ["cn-hangzhou-h", "Zone B"]}},
            "ackone.zones[1]: 'Zone B' is not a zone id",
        ),
        (
            {"ackone": {"scheduleMode": "spot"}},
            "ackone.scheduleMode: 'spot' is not allowed; allowed: stock-optimized, cost-optimized",
        ),
        (
            {"ackone": {"priceLimit": "0.5"}},
            "ackone.priceLimit: '0.5' is only allowed with "
            "ackone.scheduleMode cost-optimized, not 'stock-optimized'",
        ),
        (
            {"ackone": {"scheduleMode": "cost-optimized", "priceLimit": "0"}},
            "ackone.priceLimit: '0' is not a decimal number > 0",
        ),
        (
            {"ackone": {"scheduleMode": "cost-optimized", "priceLimit": "-1"}},
            "ackone.priceLimit: '-1' is not a decimal number > 0",
        ),
        (
            {"ackone": {"scheduleMode": "cost-optimized", "priceLimit": "cheap"}},
            "ackone.priceLimit: 'cheap' is not a decimal number > 0",
        ),
        ({"ackone": {"argoServer": "on"}}, "ackone.argoServer: 'on' is not a boolean"),
        (
            {"workload": {"parallelism": 40000}},
            "workload.parallelism: 40000 is above the 32744 "
            "pods the vSwitches ['10.0.0.0/18', '10.0.64.0/18'] can address",
        ),
        (
            {"storage": {"oss": {"bucket": "My_Bucket"}}},
            "storage.oss.bucket: 'My_Bucket' is not an OSS bucket name",
        ),
        (
            {"storage": {"oss": {"fuseType": "s3fs"}}},
            "storage.oss.fuseType: 's3fs' is not allowed; allowed: ossfs, ossfs2",
        ),
        (
            {"storage": {"oss": {"expireRunsAfterDays": 0}}},
            "storage.oss.expireRunsAfterDays: 0 is not an integer >= 1",
        ),
        (
            {"storage": {"oss": {"sampleInputSize": "lots"}}},
            "storage.oss.sampleInputSize: invalid size 'lots'",
        ),
        ({"storage": {"oss": {"region": "x"}}}, "storage.oss: unknown key(s) ['region']"),
        (
            {"storage": {"type": "nas", "nas": {"server": "x.nas.aliyuncs.com"}}},
            "storage.nas.server: 'x.nas.aliyuncs.com' cannot be set with target ackone",
        ),
        (
            {"storage": {"type": "nas", "nas": {"storageType": "Premium"}}},
            "storage.nas.storageType: 'Premium' is not allowed; allowed: Capacity, Performance",
        ),
        (
            {"workload": {"compute": {"eci": {"useSpecs": ["a", "b", "c", "d", "e", "f"]}}}},
            "workload.compute.eci.useSpecs: ['a', 'b', 'c', 'd', 'e', 'f'] lists 6 specs; ECI "
            "accepts at most 5",
        ),
        (
            {"workload": {"compute": {"eci": {"spotStrategy": "SpotWithPriceLimit"}}}},
            "workload.compute.eci.spotPriceLimit: None with spotStrategy 'SpotWithPriceLimit'",
        ),
        (
            {
                "workload": {
                    "compute": {"eci": {"spotStrategy": "SpotAsPriceGo", "spotPriceLimit": "0.5"}}
                }
            },
            "workload.compute.eci.spotPriceLimit: '0.5' with spotStrategy 'SpotAsPriceGo'",
        ),
        (
            {
                "workload": {
                    "compute": {
                        "eci": {"spotStrategy": "SpotWithPriceLimit", "spotPriceLimit": "0.5.1"}
                    }
                }
            },
            "workload.compute.eci.spotPriceLimit: '0.5.1' is not a decimal number > 0",
        ),
        (
            {"workload": {"compute": {"eci": {"extraEphemeralStorage": "20 GB"}}}},
            "workload.compute.eci.extraEphemeralStorage: '20 GB' is not a Kubernetes quantity",
        ),
        (
            {"workload": {"compute": {"acs": {"computeClass": "gpu"}}}},
            "workload.compute.acs: only used with workload.compute.profile acs; this stack's "
            "profile is 'eci'",
        ),
        (
            {"workload": {"compute": {"profile": "acs", "acs": {"computeQos": "spot"}}}},
            "workload.compute.acs.computeQos: 'spot' is not allowed; allowed: default, best-effort",
        ),
    ],
)
def test_bad_ackone_values(keys, message):
    with pytest.raises(ConfigError) as err:
        ack(**keys)
    assert message in str(err.value)


def test_ackone_needs_a_region():
    with pytest.raises(ConfigError, match="alicloud:region: required with target ackone"):
        load(ACK, "ack")


def test_existing_target_storage_rules():
    with pytest.raises(ConfigError, match=r"storage\.nas\.server: required with target existing"):
        load({"target": "existing", "existing": {"context": "c"}, "storage": {"type": "nas"}}, "x")
    nas = load(
        {
            "target": "existing",
            "existing": {"context": "c"},
            "storage": {"type": "nas", "nas": {"server": "n.example.com", "path": "/logs"}},
        },
        "x",
    ).storage.nas
    assert nas == config.NasStorage(server="n.example.com", path="/logs", storage_type="Capacity")


def test_parallelism_at_capacity_is_accepted():
    capacity = ack().ackone.max_parallel_pods
    assert ack(workload={"parallelism": capacity}).default_job.parallelism == capacity


EXISTING = {"target": "existing", "existing": {"context": "c"}}
CLAIM = {"type": "existingClaim", "existingClaim": "logs"}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"storage": {"type": "hostPath"}}, True),
        ({**EXISTING, "storage": {"type": "nas", "nas": {"server": "n.example.com"}}}, True),
        ({**EXISTING, "storage": CLAIM}, False),  # the claim is there, so its namespace is
        # kind and ackone create their cluster: nothing is in it before the first `pulumi up`.
        ({"storage": CLAIM}, True),
        ({**ACK, "storage": CLAIM}, True),
    ],
    ids=["kind-hostPath", "existing-nas", "existing-claim", "kind-claim", "ackone-claim"],
)
def test_workload_namespace_is_created_unless_the_claim_is_in_it_already(keys, expected):
    region = "cn-hangzhou" if keys.get("target") == "ackone" else None
    assert load(keys, "x", region=region).workload.create_namespace is expected
    for given in (True, False):
        explicit = load({**keys, "workload": {"createNamespace": given}}, "x", region=region)
        assert explicit.workload.create_namespace is given


def test_namespaces_that_exist_can_be_shared_by_argo_and_the_workload():
    cfg = load(
        {
            "argo": {"namespace": "batch", "createNamespace": False},
            "workload": {"namespace": "batch", "createNamespace": False},
        },
        "dev",
    )
    assert (cfg.argo.create_namespace, cfg.workload.create_namespace) == (False, False)
    # Without Argo installed there is no Argo namespace to clash with.
    lone = load(
        {"argo": {"install": False, "namespace": "batch"}, "workload": {"namespace": "batch"}},
        "dev",
    )
    assert lone.workload.create_namespace is True


def test_config_is_frozen():
    cfg = load({}, "dev")
    with pytest.raises(AttributeError):
        cfg.target = "ackone"  # type: ignore[misc]


def test_data_dir_default_is_under_the_repo():
    cfg = load({}, "qa")
    assert cfg.data_dir == cfg.kind.data_dir == Path(config.REPO_ROOT, ".data", "qa")
    assert ack().data_dir == Path(config.REPO_ROOT, ".data", "ack")


# --------------------------------------------------------------------------- no value echoed

# What a kubeconfig pasted into the wrong key, or without `--path`, looks like.
PASTED = "apiVersion: v1\nusers:\n- name: admin\n  user:\n    client-key-data: S3CRETKEYDATA\n"


def _contexts() -> dict[str, dict]:
    """For each object key, a stack on which its fields are read (not refused as misplaced)."""
    existing = {
        "target": "existing",
        "existing": {"context": "c"},
        "storage": {"existingClaim": "data"},
    }
    return {
        "kind": {},
        "existing": existing,
        "ackone": ACK,
        "argo": {},
        "argo.controller": {},
        "argo.controller.resourceRateLimit": {},
        "argo.persistence": {},
        "storage": {},
        "storage.hostPath": {},
        "storage.oss": ACK,
        "storage.nas": {**existing, "storage": {"type": "nas", "nas": {"server": "s"}}},
        "storage.existingClaim": existing,
        "workload": {},
        "workload.image": {},
        "workload.resources": {},
        "workload.compute": ACK,
        "workload.compute.eci": ACK,
        "workload.compute.acs": {**ACK, "workload": {"compute": {"profile": "acs"}}},
        "workload.schedule": {"workload": {"schedule": {"cron": "0 2 * * *"}}},
        "jobs": {},
        f"jobs.{config.JOB_PLACEHOLDER}": {},
        f"jobs.{config.JOB_PLACEHOLDER}.image": {},
        f"jobs.{config.JOB_PLACEHOLDER}.schedule": {
            "jobs": {"hello-world": {"schedule": {"cron": "0 2 * * *"}}}
        },
    }


def _with_field(base: dict, path: list[str], value) -> dict:
    keys = json.loads(json.dumps(base))
    node = keys
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return keys


FIELD_PATHS = [
    f"{section}.{field}"
    for section, fields in config.FIELDS.items()
    for field in fields
    if f"{section}.{field}" not in config.FIELDS
] + [key for key in config.FIELDS if "." not in key]


@pytest.mark.parametrize("field", FIELD_PATHS)
@pytest.mark.parametrize("value", [PASTED, [PASTED], "x" * 5000], ids=["pasted", "list", "long"])
def test_no_error_echoes_a_long_or_secret_value(monkeypatch, tmp_path, field, value):
    """Every key: a refused value is named by its key and described, never quoted."""
    monkeypatch.setenv("HOME", str(tmp_path))
    base = _contexts()[".".join(field.split(".")[:-1]) if "." in field else field]
    field = field.replace(config.JOB_PLACEHOLDER, "hello-world")
    path = field.split(".")
    section = ".".join(path[:-1]) if len(path) > 1 else field
    keys = _with_field(base, path, value)
    try:
        load(keys, "x", region="cn-hangzhou")
    except ConfigError as err:
        message = str(err)
        assert "S3CRETKEYDATA" not in message and "x" * 200 not in message, message
        named = message.split(":")[0]
        assert named.split("[")[0] in (field, section, *config.FIELDS), message


def test_a_kubeconfig_pasted_as_the_existing_object_is_not_echoed():
    with pytest.raises(ConfigError) as err:
        load({"target": "existing", "existing": PASTED}, "x")
    assert str(err.value).startswith("existing: (the value, a secret, is not shown)")
    assert "S3CRETKEYDATA" not in str(err.value)


def test_a_short_bad_value_is_still_quoted():
    with pytest.raises(ConfigError, match=r"^kind\.workers: 'many' is not an integer >= 0$"):
        load({"kind": {"workers": "many"}}, "dev")


# --------------------------------------------------------------------------- paths, names


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/etc",
        "/etc/kubernetes",
        "/var/lib/kubelet",
        "/var/lib/kubelet/pods",
        "/proc/1",
        "/sys",
        "/dev/shm",
        "/boot",
        "/usr/local",
        "/bin",
        "/var",  # holds /var/lib
        "//etc",
        "/srv/../etc/kubernetes",
        "/root",
        "/run/containerd",
    ],
)
def test_host_path_and_data_dir_refuse_system_directories(path):
    with pytest.raises(ConfigError, match=r"^storage\.hostPath\.path: .* system directory"):
        load({"storage": {"hostPath": {"path": path}}}, "dev")
    with pytest.raises(ConfigError, match=r"^kind\.dataDir: .* system directory"):
        load({"kind": {"dataDir": path}}, "dev")


@pytest.mark.parametrize("path", ["/var/local/argo-fanout", "/srv/logs", "/data", "/opt/x"])
def test_host_path_accepts_a_directory_of_its_own(path):
    cfg = load({"storage": {"hostPath": {"path": path}}, "kind": {"dataDir": path}}, "dev")
    assert cfg.storage.host_path.path == path and str(cfg.kind.data_dir) == path


def test_data_dir_refuses_the_home_directory_and_what_contains_it(monkeypatch, tmp_path):
    home = tmp_path / "home" / "me"
    monkeypatch.setenv("HOME", str(home))
    for path in (home, home.parent, tmp_path):
        with pytest.raises(ConfigError, match=r"^kind\.dataDir: .* home directory"):
            load({"kind": {"dataDir": str(path)}}, "dev")
    assert load({"kind": {"dataDir": str(home / "argo")}}, "dev").kind.data_dir == home / "argo"


@pytest.mark.parametrize("name", config.RESERVED_NAMESPACES)
@pytest.mark.parametrize("key", ["argo", "workload"])
def test_reserved_namespaces_are_refused(key, name):
    with pytest.raises(ConfigError, match=rf"^{key}\.namespace: '{name}' is reserved"):
        load({key: {"namespace": name}}, "dev")


@pytest.mark.parametrize("region", ["cn hangzhou", "CN-HANGZHOU", "cn-hangzhou.evil/x", "cn"])
def test_region_must_be_a_region_id(region):
    with pytest.raises(ConfigError, match=r"^alicloud:region: .* is not an Alibaba Cloud region"):
        load(ACK, "ack", region=region)


@pytest.mark.parametrize("region", ["cn-hangzhou", "ap-southeast-1", "cn-shanghai-finance-1"])
def test_region_ids_are_accepted(region):
    assert load(ACK, "ack", region=region).region == region


def test_zones_must_be_in_the_region():
    with pytest.raises(ConfigError, match=r"^ackone\.zones: \['cn-beijing-g'\] not in"):
        ack(ackone={"zones": ["cn-hangzhou-h", "cn-beijing-g"]})


@pytest.mark.parametrize("key", ["kind", "ackone"])
def test_cluster_names_start_with_a_letter(key):
    target = {"target": "ackone"} if key == "ackone" else {}
    with pytest.raises(ConfigError, match=rf"^{key}\.clusterName: '1lab' is not a cluster name"):
        load({**target, key: {"clusterName": "1lab"}}, "x", region="cn-hangzhou")


def test_sample_input_size_is_bounded():
    assert ack(storage={"oss": {"sampleInputSize": "1GiB"}}).storage.oss.sample_input_size == 2**30
    with pytest.raises(ConfigError, match=r"^storage\.oss\.sampleInputSize: '1TiB' is above 1GiB"):
        ack(storage={"oss": {"sampleInputSize": "1TiB"}})


@pytest.mark.parametrize("target", ["existing", "ackone"])
def test_an_unauthenticated_argo_server_is_for_kind_only(target):
    keys = {"target": target, "argo": {"serverAuthMode": "server"}}
    if target == "existing":
        keys |= {"existing": {"context": "c"}, "storage": {"existingClaim": "data"}}
    with pytest.raises(ConfigError, match=r"^argo\.serverAuthMode: 'server' is only allowed with"):
        load(keys, "x", region="cn-hangzhou")


def test_a_public_api_server_names_who_may_reach_it():
    with pytest.raises(ConfigError, match=r"^ackone\.apiServerAllowedCidrs: required with"):
        ack(ackone={"publicApiServer": True})
    with pytest.raises(ConfigError, match=r"^ackone\.apiServerAllowedCidrs: only used with"):
        ack(ackone={"apiServerAllowedCidrs": ["203.0.113.7/32"]})
    cfg = ack(ackone={"publicApiServer": True, "apiServerAllowedCidrs": ["203.0.113.7/32"]})
    assert cfg.ackone.api_server_allowed_cidrs == ("203.0.113.7/32",)
    assert cfg.ackone.audit_log is True and ack().ackone.public_api_server is False


def test_controller_settings_are_read_from_pulumi_strings():
    cfg = load(
        {
            "argo": json.dumps(
                {
                    "controller": {
                        "qps": "12.5",
                        "burst": "40",
                        "workflowWorkers": 8,
                        "podCleanupWorkers": "32",
                        "workflowTTLWorkers": 2,
                        "resourceRateLimit": {"limit": 5, "burst": "10"},
                        "parallelism": "3",
                    }
                }
            )
        },
        "dev",
    )
    assert cfg.argo.controller == config.ControllerConfig(
        qps=12.5,
        burst=40,
        workflow_workers=8,
        pod_cleanup_workers=32,
        workflow_ttl_workers=2,
        resource_rate_limit=config.ResourceRateLimit(limit=5.0, burst=10),
        parallelism=3,
    )


def test_controller_defaults_are_the_documented_table():
    controller = load({}, "dev").argo.controller
    defaults = config.CONTROLLER_DEFAULTS
    assert (controller.qps, controller.burst) == (defaults["qps"], defaults["burst"])
    assert controller.workflow_workers == defaults["workflowWorkers"]
    assert controller.pod_cleanup_workers == defaults["podCleanupWorkers"]
    assert controller.workflow_ttl_workers == defaults["workflowTTLWorkers"]
    assert controller.resource_rate_limit == config.ResourceRateLimit(
        limit=defaults["resourceRateLimit.limit"], burst=defaults["resourceRateLimit.burst"]
    )


@pytest.mark.parametrize(
    ("argo", "message"),
    [
        ({"controller": {"qps": 0}}, "argo.controller.qps: 0 is not a number > 0"),
        ({"controller": {"qps": "fast"}}, "argo.controller.qps: 'fast' is not a number > 0"),
        ({"controller": {"qps": True}}, "argo.controller.qps: True is not a number > 0"),
        ({"controller": {"burst": 0}}, "argo.controller.burst: 0 is not an integer >= 1"),
        (
            {"controller": {"workflowWorkers": "many"}},
            "argo.controller.workflowWorkers: 'many' is not an integer >= 1",
        ),
        (
            {"controller": {"podCleanupWorkers": 0}},
            "argo.controller.podCleanupWorkers: 0 is not an integer >= 1",
        ),
        (
            {"controller": {"workflowTTLWorkers": -1}},
            "argo.controller.workflowTTLWorkers: -1 is not an integer >= 1",
        ),
        (
            {"controller": {"workflowTtlWorkers": 2}},
            "argo.controller: unknown key(s) ['workflowTtlWorkers']; allowed: ",
        ),
        (
            {"controller": {"resourceRateLimit": {"limit": -2}}},
            "argo.controller.resourceRateLimit.limit: -2 is not a number > 0",
        ),
        (
            {"controller": {"resourceRateLimit": {"qps": 2}}},
            "argo.controller.resourceRateLimit: unknown key(s) ['qps']; allowed: ['burst', "
            "'limit']",
        ),
        (
            {"controller": {"resourceRateLimit": 20}},
            "argo.controller.resourceRateLimit: 20 is not an object",
        ),
        ({"controller": {"parallelism": 0}}, "argo.controller.parallelism: 0 is not an integer"),
        ({"persistence": {"enabled": "yes"}}, "argo.persistence.enabled: 'yes' is not a boolean"),
        (
            {"persistence": {"image": "postgres"}},
            "argo.persistence.image: 'postgres' is not a pinned image; give a version tag or a "
            "digest",
        ),
        (
            {"persistence": {"image": "postgres:latest"}},
            "argo.persistence.image: 'postgres:latest' is not a pinned image",
        ),
        (
            {"persistence": {"image": "registry.local:5000/postgres"}},
            "argo.persistence.image: 'registry.local:5000/postgres' is not a pinned image",
        ),
        (
            {"persistence": {"storageSize": "lots"}},
            "argo.persistence.storageSize: 'lots' is not a Kubernetes quantity",
        ),
        (
            {"persistence": {"storageClass": "Fast SSD"}},
            "argo.persistence.storageClass: 'Fast SSD' is not a Kubernetes object name",
        ),
        (
            {"persistence": {"archiveTTL": "1 week"}},
            "argo.persistence.archiveTTL: '1 week' is not a duration such as 30d",
        ),
        (
            {"persistence": {"archiveTTL": "0d"}},
            "argo.persistence.archiveTTL: '0d' is not a duration",
        ),
        (
            {"persistence": {"enabled": False, "storageSize": "1Gi"}},
            "argo.persistence: ['storageSize'] set with argo.persistence.enabled false",
        ),
    ],
)
def test_bad_controller_and_persistence_values(argo, message):
    with pytest.raises(ConfigError) as err:
        load({"argo": argo}, "dev")
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize(
    "image",
    [
        "postgres:17.6",
        "registry.local:5000/mirror/postgres:17.6-bookworm",
        "docker.io/library/postgres@sha256:" + "a" * 64,
    ],
)
def test_pinned_postgres_images_are_accepted(image):
    assert load({"argo": {"persistence": {"image": image}}}, "dev").argo.persistence.image == image


def test_persistence_can_be_disabled_and_configured():
    assert load({"argo": {"persistence": {"enabled": "false"}}}, "dev").argo.persistence is None
    persistence = load(
        {
            "argo": {
                "persistence": {"storageSize": "20Gi", "storageClass": "fast", "archiveTTL": "7d"}
            }
        },
        "dev",
    ).argo.persistence
    assert persistence == config.PersistenceConfig(
        image=config.POSTGRES_IMAGE, storage_size="20Gi", storage_class="fast", archive_ttl="7d"
    )


@pytest.mark.parametrize("key", ["controller", "persistence"])
def test_managed_argo_refuses_controller_and_persistence_settings(key):
    """ACK One runs Argo itself: none of these would apply, so setting one is an error."""
    with pytest.raises(ConfigError) as err:
        ack(argo={key: {"enabled": True} if key == "persistence" else {"qps": 5}})
    message = str(err.value)
    assert message.startswith(f"argo.{key}: only applies to the Argo this program installs")
    assert "managed by the ACK One workflow cluster" in message
    assert ack().argo.controller is None and ack().argo.persistence is None


@pytest.mark.parametrize("key", ["controller", "persistence"])
def test_controller_and_persistence_need_argo_installed(key):
    value = {"archiveTTL": "7d"} if key == "persistence" else {"burst": 5}
    with pytest.raises(ConfigError, match=rf"^argo\.{key}: .* with argo\.install false"):
        load({"argo": {"install": False, key: value}}, "dev")
