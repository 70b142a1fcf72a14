"""Reaching Argo's offloaded node status: the controller's ConfigMap, the Service a host names,
Argo's version of stored nodes, and the queries (over a recording connection; the real database
is read and written by tests/localcluster on a `make cluster PERSISTENCE=1` cluster)."""

from __future__ import annotations

import json
from typing import Any

import pg8000.exceptions
import pytest

from infra import argodb
from workflows.runs import offload
from workflows.runs.errors import RunError

PASSWORD = "s3cret-pw"


def configmap(name: str = "argo-workflows-workflow-controller-configmap", **persistence: Any):
    config = {"executor": {"imagePullPolicy": "Never"}}
    if persistence:
        config["persistence"] = persistence
    return {"metadata": {"name": name}, "data": {"config": json.dumps(config)}}


def ours(**changes: Any) -> dict[str, Any]:
    """The `persistence` the program (and the local cluster) configures, changed."""
    section = argodb.persistence_config("argo-postgres.argo.svc.cluster.local", 5432)
    section.update(changes)
    return section


def test_the_programs_own_config_is_read():
    found = offload.controller_persistence([configmap(**ours())], "argo")
    assert found == offload.Persistence(
        namespace="argo",
        configmap="argo-workflows-workflow-controller-configmap",
        host="argo-postgres.argo.svc.cluster.local",
        port=argodb.PORT,
        database=argodb.DATABASE,
        table=argodb.TABLE,
        cluster_name="default",
        username=offload.SecretKey(argodb.SECRET, argodb.USERNAME_KEY),
        password=offload.SecretKey(argodb.SECRET, argodb.PASSWORD_KEY),
        ssl=False,
        ssl_mode="",
    )


def test_a_persistence_key_of_its_own_and_a_cluster_name_are_read():
    persistence = ours(clusterName="east")
    del persistence["postgresql"]["port"]
    cm = {
        "metadata": {"name": "workflow-controller-configmap"},
        "data": {"persistence": json.dumps(persistence), "executor": "{}"},
    }
    found = offload.controller_persistence([cm], "argo")
    assert (found.cluster_name, found.port) == ("east", offload.DEFAULT_PORT)


def test_other_configmaps_are_ignored_and_one_must_offload():
    other = {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "x"}}
    assert (
        offload.controller_persistence([other, configmap(**ours())], "argo").table
        == "argo_workflows"
    )
    with pytest.raises(RunError, match=r"no Argo controller ConfigMap \(\*workflow-controller"):
        offload.controller_persistence([other], "argo")
    with pytest.raises(RunError, match=r"none of them enables persistence\.nodeStatusOffLoad"):
        offload.controller_persistence([configmap()], "argo")
    with pytest.raises(RunError, match="more than one enables"):
        offload.controller_persistence(
            [configmap(**ours()), configmap("workflow-controller-configmap", **ours())], "argo"
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"postgresql": None, "mysql": {"host": "db"}}, "persistence has mysql; only"),
        ({"tableName": "argo; drop table x"}, "tableName 'argo; drop table x' is not a plain"),
        ({"host": ""}, r"persistence.postgresql.host is not set"),
        ({"port": "5432x"}, r"port '5432x' is not a port"),
        ({"passwordSecret": {"name": "s"}}, "passwordSecret needs a name and a key"),
        ({"sslMode": "strict"}, "sslMode 'strict': allowed disable, allow, prefer, require"),
    ],
)
def test_a_config_that_cannot_be_used_is_named(change, message):
    persistence = ours()
    if "postgresql" in change:
        persistence.pop("postgresql")
        persistence["mysql"] = change["mysql"]
    else:
        persistence["postgresql"].update(change)
    with pytest.raises(RunError, match=message) as caught:
        offload.controller_persistence([configmap(**persistence)], "argo")
    assert "ConfigMap argo/argo-workflows-workflow-controller-configmap" in str(caught.value)


def test_a_cluster_name_that_is_not_a_string_is_named():
    with pytest.raises(RunError, match=r"persistence\.clusterName 7 is not a string"):
        offload.controller_persistence([configmap(**ours(clusterName=7))], "argo")
    assert offload.controller_persistence(
        [configmap(**ours(clusterName=""))], "a"
    ).cluster_name == (offload.DEFAULT_CLUSTER_NAME)


def test_config_that_is_not_yaml_is_named():
    cm = {"metadata": {"name": "workflow-controller-configmap"}, "data": {"config": "a: [b"}}
    with pytest.raises(RunError, match="workflow-controller-configmap: its config is not YAML"):
        offload.controller_persistence([cm], "argo")


@pytest.mark.parametrize(
    ("host", "service"),
    [
        ("argo-postgres", ("argo", "argo-postgres")),
        ("argo-postgres.db", ("db", "argo-postgres")),
        ("argo-postgres.db.svc", ("db", "argo-postgres")),
        ("argo-postgres.db.svc.cluster.local", ("db", "argo-postgres")),
        ("argo-postgres.db.svc.corp.example.", ("db", "argo-postgres")),
        ("pg.example.com", None),
        ("127.0.0.1", None),
        ("10.0.3.7", None),
        ("fd00::5", None),
    ],
)
def test_the_service_a_host_names(host, service):
    assert offload.service_of(host, "argo") == service


@pytest.mark.parametrize(
    ("text", "version"),  # computed by Go's hash/fnv New32, as Argo's nodeStatusVersion does
    [("", "fnv:2166136261"), ("a", "fnv:84696446"), ("foobar", "fnv:837857890")],
)
def test_versions_are_argos(text, version):
    assert offload.node_status_version(text) == version


class Recorder:
    """pg8000.native.Connection's `run` and `close`, answering from a dict of rows."""

    def __init__(self, rows: list[Any] | None = None, error: Exception | None = None) -> None:
        self.rows = rows
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.kwargs: list[dict[str, Any]] = []
        self.closed = 0

    def connect(self, **kwargs: Any) -> Recorder:
        self.kwargs.append(kwargs)
        if self.error is not None:
            raise self.error
        return self

    def run(self, sql: str, **params: Any) -> list[Any] | None:
        self.calls.append((" ".join(sql.split()), params))
        return self.rows

    def close(self) -> None:
        self.closed += 1


def database(recorder: Recorder, sock: Any = None) -> offload.ArgoDatabase:
    persistence = offload.controller_persistence([configmap(**ours(clusterName="c1"))], "argo")
    return offload.ArgoDatabase(persistence, "argo", PASSWORD, lambda: sock, recorder.connect)


def test_get_reads_the_row_of_the_version():
    nodes = {"n": {"id": "n", "phase": "Failed"}}
    recorder = Recorder([[json.dumps(nodes)]])
    assert database(recorder).get("uid-1", "fnv:7") == nodes
    ((sql, params),) = recorder.calls
    assert sql == (
        "SELECT nodes FROM argo_workflows WHERE clustername = :cluster AND uid = :uid "
        "AND version = :version"
    )
    assert params == {"cluster": "c1", "uid": "uid-1", "version": "fnv:7"}
    (kwargs,) = recorder.kwargs
    assert (kwargs["user"], kwargs["password"], kwargs["database"]) == ("argo", PASSWORD, "argo")
    assert kwargs["sock"] is None and kwargs["ssl_context"] is None
    assert recorder.closed == 1


def test_a_json_column_read_as_a_value_is_taken_as_is():
    assert database(Recorder([[{"n": {}}]])).get("u", "v") == {"n": {}}


def test_a_missing_row_is_named():
    with pytest.raises(RunError, match="no node status of workflow uid u version fnv:1"):
        database(Recorder([])).get("u", "fnv:1")


def test_save_inserts_a_new_version_argos_way():
    recorder = Recorder(None)
    nodes = {"n": {"id": "n", "phase": "Running"}}
    version = database(recorder).save("uid-1", "jobs", nodes)
    ((sql, params),) = recorder.calls
    assert version == offload.node_status_version(params["nodes"])
    assert json.loads(params["nodes"]) == nodes
    assert params == {**params, "cluster": "c1", "uid": "uid-1", "version": version}
    assert params["namespace"] == "jobs"
    assert sql.startswith(
        "INSERT INTO argo_workflows (clustername, uid, version, namespace, nodes)"
    )
    assert sql.endswith("ON CONFLICT DO NOTHING")


class Closing:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "cannot reach Argo's database"),
        (
            pg8000.exceptions.InterfaceError("Can't create a connection to host x"),
            "cannot reach Argo's database",
        ),
        (
            pg8000.exceptions.DatabaseError(
                {"S": "FATAL", "C": "28P01", "M": 'password authentication failed for user "argo"'}
            ),
            'refused the query: password authentication failed for user "argo"',
        ),
    ],
)
def test_errors_are_one_line_without_the_password_and_the_tunnel_is_closed(error, message):
    tunnel = Closing()
    with pytest.raises(RunError, match=message) as caught:
        database(Recorder(error=error), tunnel).get("u", "v")
    text = str(caught.value)
    assert PASSWORD not in text and "\n" not in text
    assert "argo-postgres.argo.svc.cluster.local:5432/argo, table argo_workflows" in text
    assert tunnel.closed


def test_ssl_modes():
    persistence = offload.controller_persistence([configmap(**ours())], "argo")
    assert offload._ssl_context(persistence) is None
    import dataclasses
    import ssl

    required = offload._ssl_context(dataclasses.replace(persistence, ssl=True, ssl_mode="require"))
    assert required.verify_mode == ssl.CERT_NONE
    full = offload._ssl_context(dataclasses.replace(persistence, ssl=True, ssl_mode="verify-full"))
    assert full.verify_mode == ssl.CERT_REQUIRED and full.check_hostname
