"""The run commands' way to a database that lives in the cluster, through the real API server,
kubelet and containerd: a Service's ready pod, reached by the pod port-forward subresource.

The program's PostgreSQL for Argo (infra/postgres.py) is such a Service; the local cluster's is a
host process (reached directly, test_persistence.py and test_retry_and_partial.py). So here a
stand-in server behind a Service named and numbered like it (port 5432, a named targetPort on
another container port) answers, and the bytes must make the round trip through the tunnel.
"""

from __future__ import annotations

import json
import uuid

import pytest

from e2e.localcluster import cluster as lc
from tests.localcluster.test_differential import CONTAINER_SECURITY, POD_SECURITY, SMALL
from workflows.runs.argo import KubernetesArgoApi
from workflows.runs.errors import RunError

pytestmark = pytest.mark.localcluster
CONTAINER_PORT = 15432
SERVICE_PORT = 5432
# Answers each connection with what it was sent, upper-cased: proof the bytes went through it.
SERVER = f"""
import socket
server = socket.create_server(("0.0.0.0", {CONTAINER_PORT}))
while True:
    conn, _ = server.accept()
    with conn:
        data = conn.recv(1024)
        conn.sendall(data.upper())
"""


@pytest.fixture
def database_service(cluster):
    name = f"tunnel-{uuid.uuid4().hex[:6]}"
    labels = {"app": name}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-0", "labels": labels},
        "spec": {
            "securityContext": POD_SECURITY,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "db",
                    "image": lc.images.STEP_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", SERVER],
                    "ports": [{"name": "postgres", "containerPort": CONTAINER_PORT}],
                    "readinessProbe": {
                        "tcpSocket": {"port": "postgres"},
                        "periodSeconds": 1,
                    },
                    "securityContext": CONTAINER_SECURITY,
                    "resources": SMALL,
                }
            ],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": labels,
            "ports": [{"name": "postgres", "port": SERVICE_PORT, "targetPort": "postgres"}],
        },
    }
    core = cluster.core
    core.create_namespaced_pod(cluster.namespace, pod)
    core.create_namespaced_service(cluster.namespace, service)
    try:
        cluster.wait_pod_ready(f"{name}-0", timeout=180)
        yield name
    finally:
        core.delete_namespaced_service(name, cluster.namespace)
        core.delete_namespaced_pod(f"{name}-0", cluster.namespace, grace_period_seconds=0)


def test_a_service_is_reached_through_a_port_forward_to_its_ready_pod(cluster, database_service):
    api = KubernetesArgoApi(json.loads(cluster.kubeconfig.read_text()), "localcluster")
    pod, port = api._service_endpoint(cluster.namespace, database_service, SERVICE_PORT)
    assert (pod, port) == (f"{database_service}-0", CONTAINER_PORT)
    sock = api._port_forward(cluster.namespace, database_service, SERVICE_PORT)
    try:
        sock.settimeout(60)
        sock.sendall(b"startup message")
        assert sock.recv(1024) == b"STARTUP MESSAGE"
    finally:
        sock.close()


def test_a_service_without_a_ready_pod_is_named(cluster):
    api = KubernetesArgoApi(json.loads(cluster.kubeconfig.read_text()), "localcluster")
    name = f"tunnel-{uuid.uuid4().hex[:6]}"
    cluster.core.create_namespaced_service(
        cluster.namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "postgres", "port": 5432}]},
        },
    )
    try:
        with pytest.raises(RunError, match=f"Service {cluster.namespace}/{name} .*no ready pod"):
            api._service_endpoint(cluster.namespace, name, SERVICE_PORT)
    finally:
        cluster.core.delete_namespaced_service(name, cluster.namespace)
