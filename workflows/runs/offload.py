"""Argo's offloaded node status, read and written where the controller keeps it.

With `persistence.nodeStatusOffLoad`, Argo's controller keeps a large run's nodes in its
PostgreSQL database (persist/sqldb/offload_node_status_repo.go, the same on v3.7 and v4.0): table
`tableName`, one row per (clustername, uid, version) with the nodes' JSON in `nodes`, the Workflow
naming the current `version`. The Argo Server reads and writes that table for `argo retry`; the
run commands do the same, with what the controller itself is configured with:

- the controller's ConfigMap (`*workflow-controller-configmap` in Argo's namespace: the stack's
  `argoNamespace` output where the program installed Argo, else `argo`) gives the database, the
  table, the cluster name and the Secrets holding the user and password;
- a `host` that names a Service of the cluster (`name`, `name.namespace`, `name.namespace.svc...`)
  is reached through the Kubernetes API (a port-forward to one of its ready pods), as the
  database the program deploys is; any other host (an address outside the cluster) directly.

Only PostgreSQL is read (pg8000, pure Python); a MySQL-backed Argo is refused with a message.
The credentials stay in memory and are never printed.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from workflows.runs.errors import RunError

DEFAULT_ARGO_NAMESPACE = "argo"  # where Argo's own manifests install it, and the local cluster
CONFIGMAP_SUFFIX = "workflow-controller-configmap"  # argo-helm: <release>-workflow-controller-...
DEFAULT_CLUSTER_NAME = "default"  # Argo's PersistConfig.GetClusterName
DEFAULT_PORT = 5432
CONNECT_TIMEOUT = 30  # seconds, like a Kubernetes API request (argo.REQUEST_TIMEOUT)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_ADDRESS = re.compile(r"[0-9.]+|\[?[0-9A-Fa-f:]+\]?")
ARGO_RETRY_HINT = "or use `argo retry`, which asks the Argo Server"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # lib/pq's


@dataclass(frozen=True)
class SecretKey:
    name: str
    key: str


@dataclass(frozen=True)
class Persistence:
    """The controller's `persistence` as far as its offloaded node status goes."""

    namespace: str  # the controller's: its Secrets are there
    configmap: str
    host: str
    port: int
    database: str
    table: str
    cluster_name: str
    username: SecretKey
    password: SecretKey
    ssl: bool
    ssl_mode: str


def controller_persistence(configmaps: Sequence[Mapping[str, Any]], namespace: str) -> Persistence:
    """The offloading database of the controller whose ConfigMap is among `configmaps` (the
    ConfigMaps of Argo's namespace); RunError, naming what is missing, if none offloads."""
    found = [cm for cm in configmaps if str(cm["metadata"]["name"]).endswith(CONFIGMAP_SUFFIX)]
    if not found:
        raise RunError(
            f"no Argo controller ConfigMap (*{CONFIGMAP_SUFFIX}) in namespace {namespace!r}, "
            f"so the database Argo offloaded the run's node status to is unknown; "
            f"{ARGO_RETRY_HINT}"
        )
    offloading = []
    for configmap in found:
        name = configmap["metadata"]["name"]
        persistence = _persistence_section(configmap, namespace)
        if persistence.get("nodeStatusOffLoad"):
            offloading.append((name, persistence))
    if len(offloading) != 1:
        names = ", ".join(sorted(cm["metadata"]["name"] for cm in found))
        what = "none of them enables" if not offloading else "more than one enables"
        raise RunError(
            f"Argo controller ConfigMaps in namespace {namespace!r}: {names}; {what} "
            f"persistence.nodeStatusOffLoad, which the run's offloaded node status needs; "
            f"{ARGO_RETRY_HINT}"
        )
    name, persistence = offloading[0]
    where = f"ConfigMap {namespace}/{name}"
    if "postgresql" not in persistence:
        kinds = sorted(key for key in ("mysql",) if key in persistence) or ["no database"]
        raise RunError(
            f"{where}: persistence has {', '.join(kinds)}; only persistence.postgresql can be "
            f"read here, {ARGO_RETRY_HINT}"
        )
    postgres = persistence["postgresql"]
    if not isinstance(postgres, dict):
        raise RunError(f"{where}: persistence.postgresql is not a mapping")
    table = postgres.get("tableName")
    if not isinstance(table, str) or not _IDENTIFIER.fullmatch(table):
        raise RunError(
            f"{where}: persistence.postgresql.tableName {table!r} is not a plain SQL name "
            "(letters, digits and _, at most 63)"
        )
    return Persistence(
        namespace=namespace,
        configmap=name,
        host=_required(postgres, "host", where),
        port=_port(postgres.get("port"), where),
        database=_required(postgres, "database", where),
        table=table,
        cluster_name=_cluster_name(persistence.get("clusterName"), where),
        username=_secret_key(postgres, "userNameSecret", where),
        password=_secret_key(postgres, "passwordSecret", where),
        ssl=postgres.get("ssl") is True,
        ssl_mode=_ssl_mode(postgres.get("sslMode"), where),
    )


def _cluster_name(value: Any, where: str) -> str:
    """Argo's GetClusterName: the configured name, DEFAULT_CLUSTER_NAME when unset or empty."""
    if value is None or value == "":
        return DEFAULT_CLUSTER_NAME
    if not isinstance(value, str):
        raise RunError(f"{where}: persistence.clusterName {value!r} is not a string")
    return value


def _ssl_mode(value: Any, where: str) -> str:
    """persistence.postgresql.sslMode; "" when unset (lib/pq's default then applies)."""
    if value is None:
        return ""
    if value not in SSL_MODES:
        raise RunError(
            f"{where}: persistence.postgresql.sslMode {value!r}: allowed {', '.join(SSL_MODES)}"
        )
    return value


def _persistence_section(configmap: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """`persistence` from the ConfigMap's `config` key (one YAML document), or from a key of
    its own (Argo reads both layouts)."""
    data = configmap.get("data") or {}
    where = f"ConfigMap {namespace}/{configmap['metadata']['name']}"
    try:
        if "config" in data:
            document = yaml.safe_load(data["config"]) or {}
            section = document.get("persistence") if isinstance(document, dict) else None
        else:
            section = yaml.safe_load(data.get("persistence") or "null")
    except yaml.YAMLError as err:
        raise RunError(f"{where}: its config is not YAML ({err.__class__.__name__})") from None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise RunError(f"{where}: persistence is a {type(section).__name__}, not a mapping")
    return section


def _required(section: Mapping[str, Any], key: str, where: str) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value:
        raise RunError(f"{where}: persistence.postgresql.{key} is not set")
    return value


def _port(value: Any, where: str) -> int:
    if value in (None, "", 0):
        return DEFAULT_PORT
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return value
    raise RunError(f"{where}: persistence.postgresql.port {value!r} is not a port (1-65535)")


def _secret_key(section: Mapping[str, Any], key: str, where: str) -> SecretKey:
    ref = section.get(key)
    if not isinstance(ref, dict) or not ref.get("name") or not ref.get("key"):
        raise RunError(f"{where}: persistence.postgresql.{key} needs a name and a key")
    return SecretKey(str(ref["name"]), str(ref["key"]))


def service_of(host: str, namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of the Service a database host names, as a pod in `namespace` (the
    controller's) resolves it; None for an address (or a name with no Service form)."""
    if _ADDRESS.fullmatch(host):
        return None
    labels = host.rstrip(".").split(".")
    if len(labels) == 1:
        return namespace, labels[0]
    if len(labels) == 2 or labels[2] == "svc":
        return labels[1], labels[0]
    return None


def node_status_version(text: str) -> str:
    """Argo's version of stored nodes: `fnv:` and the 32-bit FNV-1 hash of their JSON."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = (value * 0x01000193) & 0xFFFFFFFF
        value ^= byte
    return f"fnv:{value}"


Connect = Callable[..., Any]  # pg8000.native.Connection's signature


def _pg8000_connect(**kwargs: Any) -> Any:
    import pg8000.native  # a run command that reads no offloaded run never loads it

    return pg8000.native.Connection(**kwargs)


class ArgoDatabase:
    """`nodestatus.Offloads` over the controller's PostgreSQL. `open_socket` gives a connected
    socket to it (a port-forward) or None to connect to `persistence.host` directly."""

    def __init__(
        self,
        persistence: Persistence,
        username: str,
        password: str,
        open_socket: Callable[[], socket.socket | None],
        connect: Connect = _pg8000_connect,
    ) -> None:
        self.persistence = persistence
        self._username = username
        self._password = password
        self._open_socket = open_socket
        self._connect = connect

    def get(self, uid: str, version: str) -> dict[str, dict[str, Any]]:
        rows = self._run(
            f"SELECT nodes FROM {self.persistence.table} "
            "WHERE clustername = :cluster AND uid = :uid AND version = :version",
            cluster=self.persistence.cluster_name,
            uid=uid,
            version=version,
        )
        if not rows:
            raise RunError(
                f"Argo's database ({self._where()}) has no node status of workflow uid {uid} "
                f"version {version}: the run changed since it was read, or its rows were removed"
            )
        value = rows[0][0]
        return json.loads(value) if isinstance(value, str) else value

    def save(self, uid: str, namespace: str, nodes: Mapping[str, Any]) -> str:
        text = json.dumps(nodes, separators=(",", ":"))
        version = node_status_version(text)
        # Argo's Save: a row that exists already holds these very nodes (same version).
        self._run(
            f"INSERT INTO {self.persistence.table} "
            "(clustername, uid, version, namespace, nodes) "
            "VALUES (:cluster, :uid, :version, :namespace, CAST(:nodes AS json)) "
            "ON CONFLICT DO NOTHING",
            cluster=self.persistence.cluster_name,
            uid=uid,
            version=version,
            namespace=namespace,
            nodes=text,
        )
        return version

    def _where(self) -> str:
        p = self.persistence
        return (
            f"{p.host}:{p.port}/{p.database}, table {p.table}, "
            f"from ConfigMap {p.namespace}/{p.configmap}"
        )

    def _run(self, sql: str, **params: Any) -> list[Any]:
        import pg8000.exceptions

        p = self.persistence
        sock = self._open_socket()
        try:
            connection = self._connect(
                user=self._username,
                password=self._password,
                host=p.host,
                port=p.port,
                database=p.database,
                timeout=CONNECT_TIMEOUT,
                ssl_context=_ssl_context(p),
                sock=sock,
                application_name="argo-fanout",
            )
            try:
                return list(connection.run(sql, **params) or [])
            finally:
                connection.close()
        except (OSError, pg8000.exceptions.InterfaceError) as err:
            raise RunError(
                f"cannot reach Argo's database ({self._where()}): {_reason(err)}; {ARGO_RETRY_HINT}"
            ) from None
        except pg8000.exceptions.DatabaseError as err:
            raise RunError(
                f"Argo's database ({self._where()}) refused the query: {_reason(err)}"
            ) from None
        finally:
            if sock is not None:
                sock.close()


def _ssl_context(p: Persistence) -> Any:
    """None without ssl; with it, TLS that verifies the server unless sslMode only asks for
    encryption (require, prefer, allow: lib/pq's meaning)."""
    if not p.ssl or p.ssl_mode == "disable":
        return None
    import ssl

    context = ssl.create_default_context()
    if p.ssl_mode in ("", "require", "prefer", "allow"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reason(err: Exception) -> str:
    """The error's own text on one line; a server error's message field (never a password:
    neither the server nor pg8000 puts it in an error)."""
    first = err.args[0] if err.args else err
    if isinstance(first, dict):
        return str(first.get("M") or first)
    return " ".join(str(err).split()) or err.__class__.__name__
