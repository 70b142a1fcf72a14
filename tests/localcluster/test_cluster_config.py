"""The local real cluster's configuration, checked without starting it (no root, no binaries).

What `make e2e-local` proves by running, these pin down field by field: no anonymous or
read-only kubelet access, pods without a default route, containerd within this VM's limits,
namespaces enforcing `restricted`, and `down` finding only what is the cluster's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.localcluster import cluster as lc
from tests.support.pod_security import step_pod, violations


@pytest.fixture
def layout(tmp_path):
    return lc.Layout(tmp_path / "state")


def test_kubelet_serves_only_authenticated_clients(layout):
    config = lc.kubelet_config(layout)
    assert config["readOnlyPort"] == 0
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authentication"]["x509"]["clientCAFile"] == str(layout.pki / "ca.crt")
    assert config["address"] == lc.NODE_IP
    assert config["healthzBindAddress"] == "127.0.0.1"
    # cgroup v1 is this VM's layout; Kubernetes 1.34 still runs on it when told so.
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["failCgroupV1"] is False


def test_pods_get_no_default_route_and_no_masquerade(layout):
    lc.setup_network_files(layout)
    (conf,) = (layout.cni / "net.d").glob("*.conflist")
    plugin = json.loads(conf.read_text())["plugins"][0]
    assert plugin["type"] == "bridge"
    assert plugin["bridge"] == lc.BRIDGE
    assert plugin["isGateway"] is False  # no default route, and ip_forward left alone
    assert plugin["ipMasq"] is False
    assert plugin["ipam"]["routes"] == [{"dst": lc.SERVICE_CIDR, "gw": lc.NODE_IP}]
    assert (layout.config / "resolv.conf").read_text() == "nameserver 127.0.0.1\n"


def test_containerd_stays_within_this_vms_capabilities(layout):
    text = lc.containerd_config(layout)
    # root here lacks CAP_SYS_RESOURCE: lowering oom_score_adj fails every sandbox otherwise.
    assert "restrict_oom_score_adj = true" in text
    assert f'sandbox_image = "{lc.images.PAUSE_IMAGE}"' in text
    assert f'address = "{layout.containerd_socket}"' in text
    assert str(layout.cni / "net.d") in text


def test_namespaces_enforce_restricted():
    namespace = lc.restricted_namespace("x")
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    objects = lc.workload_objects(lc.Layout(Path("/state")))
    assert objects[0]["metadata"]["labels"] == labels
    claim = next(o for o in objects if o["kind"] == "PersistentVolumeClaim")
    assert claim["metadata"] == {"name": lc.CLAIM_NAME, "namespace": lc.WORKLOAD_NAMESPACE}
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_argo_executor_and_smoke_pod_pass_restricted():
    config = json.loads(lc.argo_configmap()["data"]["config"])
    assert config["metricsConfig"] == {"enabled": False}
    restricted = config["executor"]["securityContext"]
    template = {
        "securityContext": {"runAsUser": 1000, "runAsNonRoot": True},
        "container": {"image": "x", "securityContext": restricted},
    }
    assert violations(step_pod({}, template, restricted), "restricted") == []
    # The same pod with the executor left as argo's default is refused: the check can fail.
    assert violations(step_pod({}, template, None), "restricted")
    assert violations(lc.smoke_pod(), "restricted") == []


def test_our_processes_are_only_the_clusters(layout):
    """A build writing into bin/ names the state directory but is not the cluster's."""
    layout.bin.mkdir(parents=True)
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", str(layout.bin / "kubelet")]
    )
    try:
        assert bystander.pid not in [pid for pid, _ in lc.our_processes(layout)]
    finally:
        bystander.kill()
        bystander.wait()


def test_status_names_what_is_down(layout):
    assert lc.status_of(layout) == "stopped"
    layout.run.mkdir(parents=True)
    lc.Layout.pidfile(layout, "etcd").write_text(str(os.getpid()))
    assert lc.status_of(layout).startswith("partly running; stopped: kube-apiserver")


def test_preflight_names_every_missing_prerequisite(monkeypatch):
    monkeypatch.setattr(lc.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(lc.shutil, "which", lambda tool: None)
    with pytest.raises(lc.ClusterError) as raised:
        lc.preflight()
    message = str(raised.value)
    assert message.startswith("missing: root")
    for part in (
        "containerd (apt-get install containerd)",
        "runc (apt-get install runc)",
        "go (Go",
    ):
        assert part in message
