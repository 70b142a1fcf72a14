"""KubernetesArgoApi over real HTTP: a tiny local API server stands in for the cluster."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra import argodb
from workflows.runs.argo import KubernetesArgoApi
from workflows.runs.errors import RunError

BASE = "/apis/argoproj.io/v1alpha1/namespaces"


def kubeconfig(server: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
        "users": [{"name": "u", "user": {"token": "secret-token"}}],
    }


class ApiServer(BaseHTTPRequestHandler):
    """Answers like the Kubernetes API: objects by path, 404/403 as Status bodies."""

    objects: dict[str, dict[str, Any]] = {}
    requests: list[tuple[str, str, str | None]] = []
    pods: list[dict[str, Any]] = []
    bodies: list[dict[str, Any]] = []

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("PUT", self.path, self.headers.get("Authorization")))
        self.bodies.append(body)
        if body["metadata"].get("resourceVersion") != "7":
            self._reply(409, _status("the object has been modified; please apply your changes"))
        else:
            self._reply(200, body)

    def do_DELETE(self) -> None:
        self.requests.append(("DELETE", self.path, self.headers.get("Authorization")))
        if self.path.endswith("/gone"):
            self._reply(404, _status("not found"))
        else:
            self._reply(200, {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "x"}})

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, self.headers.get("Authorization")))
        if self.path.startswith("/api/v1/namespaces/jobs/pods?"):
            self._reply(200, {"kind": "PodList", "apiVersion": "v1", "items": self.pods})
        elif self.path.endswith("/forbidden"):
            self._reply(403, _status('workflows "forbidden" is forbidden: User "ci" cannot get'))
        elif self.path in self.objects:
            self._reply(200, self.objects[self.path])
        elif self.path.split("?")[0] in self.objects:  # a list: its query is not looked at
            self._reply(200, self.objects[self.path.split("?")[0]])
        else:
            self._reply(404, _status("not found"))

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, self.headers.get("Authorization")))
        body["metadata"]["name"] = body["metadata"]["generateName"] + "abcde"
        self._reply(201, body)

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Keep the test output quiet."""


def _status(message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message}


@pytest.fixture
def api_server() -> Iterator[str]:
    ApiServer.objects = {}
    ApiServer.requests = []
    ApiServer.pods = []
    ApiServer.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_get_create_and_missing_objects(api_server):
    template = {"metadata": {"name": "log-count"}, "spec": {}}
    ApiServer.objects[f"{BASE}/jobs/workflowtemplates/log-count"] = template
    api = KubernetesArgoApi(kubeconfig(api_server), "dev")
    assert api.get_template("jobs", "log-count") == template
    assert api.get_template("jobs", "other") is None
    assert api.get_workflow("jobs", "gone") is None
    created = api.create_workflow("jobs", {"metadata": {"generateName": "log-count-"}})
    assert created["metadata"]["name"] == "log-count-abcde"
    assert ("POST", f"{BASE}/jobs/workflows", "Bearer secret-token") in ApiServer.requests


def test_what_retry_needs_pods_by_label_deleted_and_the_workflow_replaced(api_server):
    ApiServer.pods = [
        {
            "metadata": {
                "name": "log-count-abcde-count-1",
                "annotations": {"workflows.argoproj.io/node-id": "log-count-abcde-123"},
            }
        }
    ]
    api = KubernetesArgoApi(kubeconfig(api_server), "dev")
    assert api.list_pods("jobs", "workflows.argoproj.io/workflow=log-count-abcde") == [
        {
            "metadata": {
                "name": "log-count-abcde-count-1",
                "annotations": {"workflows.argoproj.io/node-id": "log-count-abcde-123"},
            }
        }
    ]
    assert any(
        method == "GET"
        and path.startswith("/api/v1/namespaces/jobs/pods?")
        and urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["labelSelector"]
        == ["workflows.argoproj.io/workflow=log-count-abcde"]
        for method, path, _ in ApiServer.requests
    )
    api.delete_pod("jobs", "log-count-abcde-count-1")
    api.delete_pod("jobs", "gone")  # already deleted: no error
    assert (
        "DELETE",
        "/api/v1/namespaces/jobs/pods/log-count-abcde-count-1",
        "Bearer secret-token",
    ) in (ApiServer.requests)
    workflow = {"metadata": {"name": "log-count-abcde", "resourceVersion": "7"}, "status": {}}
    assert api.replace_workflow("jobs", "log-count-abcde", workflow) == workflow
    assert ("PUT", f"{BASE}/jobs/workflows/log-count-abcde", "Bearer secret-token") in (
        ApiServer.requests
    )
    stale = {"metadata": {"name": "log-count-abcde", "resourceVersion": "6"}, "status": {}}
    with pytest.raises(RunError, match=r"\(HTTP 409\): the object has been modified"):
        api.replace_workflow("jobs", "log-count-abcde", stale)


def test_forbidden_is_one_line_with_the_servers_message(api_server):
    api = KubernetesArgoApi(kubeconfig(api_server), "dev")
    with pytest.raises(RunError) as raised:
        api.get_workflow("jobs", "forbidden")
    assert str(raised.value) == (
        "the cluster of stack 'dev' refused the request (HTTP 403): "
        'workflows "forbidden" is forbidden: User "ci" cannot get'
    )


def test_unreachable_cluster_names_the_server():
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = KubernetesArgoApi(kubeconfig(f"http://127.0.0.1:{port}"), "dev")
    with pytest.raises(RunError) as raised:
        api.get_template("jobs", "log-count")
    message = str(raised.value)
    assert message.startswith(f"cannot reach the cluster of stack 'dev' at http://127.0.0.1:{port}")
    assert "Connection refused" in message
    assert "`pulumi up -s dev` brings it back" in message


def test_unusable_kubeconfig_is_named():
    broken = kubeconfig("https://127.0.0.1:6443")
    broken["current-context"] = "missing"
    with pytest.raises(RunError, match="stack 'dev': its kubeconfig output is unusable"):
        KubernetesArgoApi(broken, "dev")


def controller_config(host: str) -> None:
    """Argo's namespace as the program leaves it: the controller's ConfigMap and the Secret."""
    config = {"persistence": argodb.persistence_config(host, 5432)}
    core = "/api/v1/namespaces/argo"
    ApiServer.objects[f"{core}/configmaps"] = {
        "kind": "ConfigMapList",
        "apiVersion": "v1",
        "items": [
            {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "x"}},
            {
                "metadata": {"name": "argo-workflows-workflow-controller-configmap"},
                "data": {"config": json.dumps(config)},
            },
        ],
    }
    ApiServer.objects[f"{core}/secrets/{argodb.SECRET}"] = {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": argodb.SECRET},
        "data": {
            argodb.USERNAME_KEY: base64.b64encode(b"argo").decode(),
            argodb.PASSWORD_KEY: base64.b64encode(b"pw-123").decode(),
        },
    }


def test_offloads_come_from_the_controllers_configmap_and_secret(api_server):
    controller_config("127.0.0.1")
    database = KubernetesArgoApi(kubeconfig(api_server), "dev").offloads()
    assert database.persistence.host == "127.0.0.1"
    assert (database._username, database._password) == ("argo", "pw-123")
    assert database._open_socket() is None  # an address: connected to directly


def test_a_service_host_is_reached_through_a_ready_pod_of_it(api_server):
    controller_config("argo-postgres.argo.svc.cluster.local")
    ApiServer.objects["/api/v1/namespaces/argo/services/argo-postgres"] = {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": "argo-postgres"},
        "spec": {"ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres"}]},
    }
    slices = "/apis/discovery.k8s.io/v1/namespaces/argo/endpointslices"
    endpoint = {"conditions": {"ready": False}, "targetRef": {"kind": "Pod", "name": "pg-old"}}
    ApiServer.objects[slices] = {
        "kind": "EndpointSliceList",
        "apiVersion": "discovery.k8s.io/v1",
        "items": [
            {
                "addressType": "IPv4",
                "metadata": {"name": "argo-postgres-x"},
                "ports": [{"name": "postgres", "port": 15432}],
                "endpoints": [
                    {**endpoint, "addresses": ["10.0.0.2"]},
                    {**endpoint, "addresses": ["10.0.0.3"], "conditions": {"ready": True}},
                ],
            }
        ],
    }
    ApiServer.objects[slices]["items"][0]["endpoints"][1]["targetRef"] = {
        "kind": "Pod",
        "name": "pg-0",
    }
    api = KubernetesArgoApi(kubeconfig(api_server), "dev")
    api.offloads()
    assert api._service_endpoint("argo", "argo-postgres", 5432) == ("pg-0", 15432)
    ApiServer.objects[slices]["items"][0]["endpoints"].pop()
    with pytest.raises(RunError, match=r"Service argo/argo-postgres .* has no ready pod"):
        api._service_endpoint("argo", "argo-postgres", 5432)
    with pytest.raises(RunError, match="Service argo/argo-postgres has no port 5433"):
        api._service_endpoint("argo", "argo-postgres", 5433)


def test_offloads_without_access_to_argos_namespace_say_so(api_server):
    with pytest.raises(RunError, match=r"reading Argo's persistence config .*HTTP 404"):
        KubernetesArgoApi(kubeconfig(api_server), "dev").offloads()
    ApiServer.objects["/api/v1/namespaces/argo/configmaps"] = {"kind": "List", "items": []}
    with pytest.raises(RunError, match=r"no Argo controller ConfigMap .* in namespace 'argo'"):
        KubernetesArgoApi(kubeconfig(api_server), "dev").offloads()
    controller_config("127.0.0.1")
    del ApiServer.objects[f"/api/v1/namespaces/argo/secrets/{argodb.SECRET}"]
    with pytest.raises(RunError, match=f"Secret argo/{argodb.SECRET} has no key 'username'"):
        KubernetesArgoApi(kubeconfig(api_server), "dev").offloads()
