"""Config → chart values: the log-count chart's, Argo's, and kind's cluster config."""

from __future__ import annotations

import pytest
import yaml

from infra.argo import argo_values
from infra.cluster import kind_cluster_config
from infra.compute import compute_values
from infra.config import load, template_name
from infra.storage import storage_values
from infra.workload import (
    DIGEST_LABEL,
    chart_digest,
    claim_name,
    job_values,
    platform_block,
    platform_values,
    submit_command,
    volume_identity,
)
from tests.support.schemas import requires_argo_crds, validate_object
from workflows.chart import (
    CHARTS_DIR,
    LOG_COUNT_CHART,
    PLATFORM_CHART,
    platform_values_block,
    render_chart,
)

EXISTING = {"target": "existing", "existing": {"context": "c"}}


def existing(**keys):
    return load({**EXISTING, **keys}, "x")


def platform_for(cfg, **storage_inputs):
    return platform_values(cfg.workload, storage_values(cfg.storage, **storage_inputs))


def values_for(cfg, job="log-count", **storage_inputs):
    return job_values(cfg.jobs[job], platform_block(platform_for(cfg, **storage_inputs)))


def test_dev_defaults_map_to_chart_values():
    cfg = load({}, "dev")
    platform = platform_for(cfg)
    assert platform == {
        "fullnameOverride": "argo-fanout",
        "storage": {
            "type": "hostPath",
            "size": "100Gi",
            "reclaimPolicy": "Retain",
            "hostPath": {"path": "/var/local/argo-fanout"},
        },
        "compute": {"profile": "none"},
        "commonLabels": {DIGEST_LABEL: chart_digest(PLATFORM_CHART)},
    }
    assert values_for(cfg) == {
        "fullnameOverride": "log-count",
        "templateName": "log-count",
        "job": {"numParts": 5, "keywords": "INFO,WARN,ERROR,DEBUG", "match": "substring"},
        "workflow": {"parallelism": 50, "retry": {"limit": 3}},
        "platform": platform_block(platform),
        "commonLabels": {DIGEST_LABEL: chart_digest(LOG_COUNT_CHART)},
    }


@pytest.mark.parametrize(
    "storage",
    [
        {},
        {"type": "existingClaim", "existingClaim": "logs"},
        {"type": "nas", "nas": {"server": "n.example.com"}},
    ],
)
@pytest.mark.parametrize("values", [{}, {"podSecurityContext": {"runAsUser": 7, "fsGroup": None}}])
def test_the_program_builds_the_platform_block_as_the_chart_publishes_it(storage, values):
    cfg = existing(storage=storage, workload={"values": values}) if storage else load({}, "d")
    platform = platform_for(cfg)
    published = platform_values_block(platform, release="argo-fanout", namespace="argo-fanout")
    assert {"platform": platform_block(platform)} == published


def test_chart_digest_follows_every_file_of_the_chart(tmp_path):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: c\n")
    (chart / "templates" / "a.yaml").write_text("a: 1\n")
    job = tmp_path / "job"
    job.mkdir()
    (job / "split.py").write_text("print(1)\n")
    (chart / "files").mkdir()
    (chart / "files" / "job").symlink_to(job)
    first = chart_digest(chart)
    assert len(first) == 16 and first == chart_digest(chart)
    (job / "split.py").write_text("print(2)\n")
    second = chart_digest(chart)
    assert second != first
    (chart / "templates" / "a.yaml").rename(chart / "templates" / "b.yaml")
    assert chart_digest(chart) not in (first, second)


def test_every_workload_option_reaches_the_chart():
    cfg = existing(
        storage={"type": "nas", "nas": {"server": "n.example.com", "path": "/logs"}},
        workload={
            "numParts": 9,
            "partSize": "64MiB",
            "keywords": ["ERROR", "FATAL"],
            "match": "word",
            "parallelism": 7,
            "retries": 0,
            "image": {"registry": "registry.example.com", "repository": "py", "tag": "3.12"},
            "resources": {"count": {"requests": {"cpu": "2"}, "limits": {"memory": "1Gi"}}},
            "compute": {
                "profile": "eci",
                "eci": {"useSpecs": ["2-4Gi"], "spotStrategy": "SpotAsPriceGo", "imageCache": True},
            },
            "schedule": {"cron": "0 2 * * *", "timezone": "Asia/Shanghai"},
            "values": {"job": {"maxParts": 20}, "commonLabels": {"team": "logs"}},
        },
    )
    values = values_for(cfg)
    platform = platform_for(cfg)
    assert values["job"] == {
        "numParts": 9,
        "partSize": "64MiB",
        "keywords": "ERROR,FATAL",
        "match": "word",
        "maxParts": 20,
    }
    assert values["workflow"] == {"parallelism": 7, "retry": {"limit": 0}}
    assert values["image"] == {
        "registry": "registry.example.com",
        "repository": "py",
        "tag": "3.12",
    }
    assert values["resources"] == {"count": {"requests": {"cpu": "2"}, "limits": {"memory": "1Gi"}}}
    assert platform["compute"] == {
        "profile": "eci",
        "eci": {"useSpecs": ["2-4Gi"], "spotStrategy": "SpotAsPriceGo", "imageCache": True},
    }
    assert values["schedule"] == {"enabled": True, "cron": "0 2 * * *", "timezone": "Asia/Shanghai"}
    assert values["platform"]["compute"]["eci"]["spotStrategy"] == "SpotAsPriceGo"
    assert platform["storage"] == {
        "type": "nas",
        "size": "100Gi",
        "reclaimPolicy": "Retain",
        "nas": {"server": "n.example.com", "path": "/logs"},
    }
    assert values["commonLabels"] == {
        DIGEST_LABEL: chart_digest(LOG_COUNT_CHART),
        "team": "logs",
    }


@requires_argo_crds
def test_every_workload_option_renders_valid_objects():
    cfg = existing(
        storage={"type": "nas", "nas": {"server": "n.example.com"}},
        workload={
            "compute": {"profile": "acs", "acs": {"computeClass": "performance"}},
            "schedule": {"cron": "0 2 * * *"},
            "resources": {"merge": {"limits": {"ephemeral-storage": "1Gi"}}},
        },
    )
    objects = render_chart(PLATFORM_CHART, platform_for(cfg), release="argo-fanout", namespace="x")
    objects += render_chart(LOG_COUNT_CHART, values_for(cfg), release="log-count", namespace="x")
    kinds = sorted(obj["kind"] for obj in objects)
    assert "CronWorkflow" in kinds and "PersistentVolume" in kinds
    for obj in objects:
        validate_object(obj)


def test_workload_values_override_ours():
    cfg = load({"workload": {"values": {"templateName": "counts", "fullnameOverride": "lc"}}}, "d")
    values = values_for(cfg)
    assert template_name(values) == "counts"
    platform = platform_for(cfg)  # naming keys go to the job release only
    assert claim_name(platform) == f"argo-fanout-data-{volume_identity(platform)}"
    empty = load({"workload": {"values": {"templateName": ""}}}, "d")
    assert template_name(values_for(empty)) == "log-count"


def test_existing_claim_values_and_name():
    cfg = existing(storage={"existingClaim": "shared-logs"})
    platform = platform_for(cfg)
    assert platform["storage"] == {"type": "existingClaim", "existingClaim": "shared-logs"}
    assert claim_name(platform) == "shared-logs"
    assert values_for(cfg)["platform"]["claimName"] == "shared-logs"


def test_oss_values_take_the_cloud_side_names():
    cfg = load(
        {"target": "ackone", "storage": {"oss": {"fuseType": "ossfs2"}}}, "a", region="cn-hangzhou"
    )
    storage = storage_values(
        cfg.storage,
        oss_bucket="b",
        oss_url="oss-cn-hangzhou-internal.aliyuncs.com",
        oss_secret_name="oss-credentials",
    )
    assert storage["oss"] == {
        "bucket": "b",
        "url": "oss-cn-hangzhou-internal.aliyuncs.com",
        "path": "/",
        "otherOpts": "-o max_stat_cache_size=0 -o allow_other",
        "fuseType": "ossfs2",
        "secretName": "oss-credentials",
    }
    with pytest.raises(ValueError, match="oss needs oss_bucket, oss_url and oss_secret_name"):
        storage_values(cfg.storage)


def test_nas_on_ackone_takes_the_mount_target():
    cfg = load({"target": "ackone", "storage": {"type": "nas"}}, "a", region="cn-hangzhou")
    assert storage_values(cfg.storage, nas_server="m.nas.aliyuncs.com")["nas"] == {
        "server": "m.nas.aliyuncs.com",
        "path": "/",
    }
    with pytest.raises(ValueError, match="nas needs the mount target domain"):
        storage_values(cfg.storage)


def test_compute_values_pass_only_what_is_set():
    ack = load({"target": "ackone"}, "a", region="cn-hangzhou")
    assert compute_values(ack.workload.compute) == {"profile": "eci", "eci": {}}
    acs = load(
        {"target": "ackone", "workload": {"compute": {"profile": "acs"}}}, "a", region="cn-hangzhou"
    )
    assert compute_values(acs.workload.compute) == {"profile": "acs", "acs": {}}


def test_argo_values_merge_config_over_ours():
    cfg = load(
        {"argo": {"values": {"server": {"authModes": ["sso"]}, "controller": {"parallelism": 4}}}},
        "dev",
    )
    values = argo_values(cfg.argo, workload_namespace="jobs")
    assert values["server"]["authModes"] == ["sso"]
    assert values["controller"]["parallelism"] == 4
    assert values["controller"]["extraArgs"] == [
        "--managed-namespace",
        "jobs",
        "--qps",
        "50",
        "--burst",
        "100",
    ]
    assert values["controller"]["workflowDefaults"]["spec"]["podGC"] == {"strategy": "OnPodSuccess"}
    # A token per caller on every target, kind included, unless the stack opts into `server`.
    assert argo_values(load({}, "dev").argo, workload_namespace="j")["server"]["authModes"] == [
        "client"
    ]
    local = load({"argo": {"serverAuthMode": "server"}}, "dev").argo
    assert argo_values(local, workload_namespace="j")["server"]["authModes"] == ["server"]


def test_kind_cluster_config_mounts_data_dir_on_every_node():
    kind = load({"kind": {"workers": 2, "dataDir": "/srv/data"}}, "dev").kind
    document = yaml.safe_load(kind_cluster_config(kind))
    assert document["kind"] == "Cluster" and document["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [node["role"] for node in document["nodes"]] == ["control-plane", "worker", "worker"]
    for node in document["nodes"]:
        assert node["image"] == kind.node_image
        assert node["extraMounts"] == [
            {"hostPath": "/srv/data", "containerPath": "/var/local/argo-fanout"}
        ]


def test_submit_command():
    cfg = load({"workload": {"numParts": 12}, "jobs": {"hello-world": {}}}, "dev")
    assert submit_command(cfg.default_job, "jobs") == (
        "argo submit -n jobs --from workflowtemplate/log-count -p numParts=12 --watch"
    )
    assert submit_command(cfg.jobs["hello-world"], "jobs") == (
        "argo submit -n jobs --from workflowtemplate/hello-world --watch"
    )


def test_a_seed_job_gets_its_own_names_the_platform_block_and_its_options():
    cfg = load(
        {
            "jobs": {
                "hello": {
                    "chart": "hello-world",
                    "parallelism": 2,
                    "image": {"tag": "3.12.11-slim"},
                    "schedule": {"cron": "0 4 * * *"},
                    "values": {"job": {"message": "hi"}},
                }
            }
        },
        "dev",
    )
    platform = platform_for(cfg)
    assert values_for(cfg, "hello") == {
        "fullnameOverride": "hello",
        "templateName": "hello",
        "workflow": {"parallelism": 2, "retry": {"limit": 3}},
        "image": {"tag": "3.12.11-slim"},
        "schedule": {"enabled": True, "cron": "0 4 * * *"},
        "job": {"message": "hi"},
        "platform": platform_block(platform),
        "commonLabels": {DIGEST_LABEL: chart_digest(CHARTS_DIR / "hello-world")},
    }
    # log-count's values are what they were before `jobs` existed.
    assert values_for(cfg)["job"] == {
        "numParts": 5,
        "keywords": "INFO,WARN,ERROR,DEBUG",
        "match": "substring",
    }


@requires_argo_crds
@pytest.mark.parametrize("chart", ["hello-world", "loops", "dag-diamond", "fanout"])
def test_every_seed_job_renders_valid_objects_from_the_program_s_values(chart):
    cfg = load({"jobs": {chart: {"schedule": {"cron": "0 4 * * *"}}}}, "dev")
    objects = render_chart(
        cfg.jobs[chart].chart, values_for(cfg, chart), release=chart, namespace="argo-fanout"
    )
    templates = [obj for obj in objects if obj["kind"] == "WorkflowTemplate"]
    assert [t["metadata"]["name"] for t in templates] == [cfg.jobs[chart].template_name]
    for obj in objects:
        validate_object(obj)
