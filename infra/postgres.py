"""The PostgreSQL that holds Argo's offloaded node status and workflow archive (argo.persistence).

One StatefulSet replica in Argo's namespace on a PersistentVolumeClaim the program manages
itself (not a volumeClaimTemplate), so a new image — a minor upgrade of the same major — is an
in-place rolling update of the StatefulSet on the same volume, and nothing else changes. The
password is generated once by pulumi-random and stays a Pulumi secret: it reaches the cluster
only as a Secret, the database container and Argo read it from there by reference, and no
output carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import argodb
from infra.config import PersistenceConfig

# The StatefulSet, Service, NetworkPolicy and the Secret Argo reads (infra/argodb.py has the
# names Argo is configured with).
NAME = argodb.SECRET
PORT = argodb.PORT
DATABASE = argodb.DATABASE
USER = argodb.USER
USERNAME_KEY = argodb.USERNAME_KEY
PASSWORD_KEY = argodb.PASSWORD_KEY
PASSWORD_LENGTH = 32
# The official image's postgres user; the data directory is a subdirectory of the mount, since
# a fresh volume's root may hold lost+found, which initdb refuses.
POSTGRES_UID = 999
MOUNT_PATH = "/var/lib/postgresql/data"
PGDATA = f"{MOUNT_PATH}/pgdata"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "argo-fanout"}
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"memory": "1Gi"},
}
# Pod Security "restricted", and a read-only root: only the volume, the socket directory and
# /tmp are writable.
POD_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": POSTGRES_UID,
    "runAsGroup": POSTGRES_UID,
    "fsGroup": POSTGRES_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}
_READY = ["pg_isready", "--host", "127.0.0.1", "--username", USER, "--dbname", DATABASE]


def claim_name(config: PersistenceConfig) -> str:
    """The data claim's name, which carries the storage class: a claim's class cannot change,
    so another class is another claim (a new, empty database), never a failed update."""
    if config.storage_class is None:
        return f"{NAME}-data"
    return f"{NAME}-data-{config.storage_class}"


def host(namespace: str) -> str:
    """The Service's in-cluster DNS name, which Argo's controller and server connect to."""
    return f"{NAME}.{namespace}.svc.cluster.local"


def argo_persistence_values(config: PersistenceConfig, namespace: str) -> dict[str, Any]:
    """argo-helm's `controller.persistence`: offload node status, archive, this database."""
    return argodb.persistence_config(host(namespace), PORT, config.archive_ttl)


@dataclass(frozen=True)
class PostgresArgs:
    config: PersistenceConfig
    namespace: str  # argo.namespace: Argo reads the Secret from its own namespace
    clients: tuple[Mapping[str, str], ...]  # pod labels of those who may connect
    provider: k8s.Provider
    depends_on: tuple[pulumi.Resource, ...] = ()  # the namespace, when the program creates it


class Postgres(pulumi.ComponentResource):
    """PostgreSQL for Argo: Secret, PersistentVolumeClaim, Service, StatefulSet, NetworkPolicy."""

    def __init__(
        self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("argo-fanout:argo:Postgres", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        ordered = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=list(args.depends_on))
        )
        metadata = {"name": NAME, "namespace": args.namespace, "labels": LABELS}
        # Generated once and kept in the stack's state, encrypted; nothing but `length` and
        # `special` would make a new one (initdb sets it only on the first start).
        self.password = random.RandomPassword(
            f"{name}-password",
            length=PASSWORD_LENGTH,
            special=False,  # letters and digits: nothing to escape in a connection string
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=metadata,
            type="Opaque",
            string_data={
                USERNAME_KEY: USER,
                PASSWORD_KEY: pulumi.Output.secret(self.password.result),
            },
            opts=ordered,
        )
        claim_spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": cfg.storage_size}},
        }
        if cfg.storage_class is not None:
            claim_spec["storageClassName"] = cfg.storage_class
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            metadata={**metadata, "name": claim_name(cfg)},
            spec=claim_spec,
            # A claim of a WaitForFirstConsumer class binds only once the pod is scheduled.
            opts=pulumi.ResourceOptions.merge(
                ordered,
                pulumi.ResourceOptions(
                    custom_timeouts=pulumi.CustomTimeouts(create="10m"),
                ),
            ),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata,
            spec={
                "selector": LABELS,
                "ports": [{"name": "postgres", "port": PORT, "targetPort": "postgres"}],
            },
            opts=ordered,
        )
        env = [
            {"name": "PGDATA", "value": PGDATA},
            {"name": "POSTGRES_DB", "value": DATABASE},
            {
                "name": "POSTGRES_USER",
                "valueFrom": {"secretKeyRef": {"name": NAME, "key": USERNAME_KEY}},
            },
            {
                "name": "POSTGRES_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": NAME, "key": PASSWORD_KEY}},
            },
        ]
        probe = {"exec": {"command": _READY}, "periodSeconds": 10, "timeoutSeconds": 5}
        self.stateful_set = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=metadata,
            spec={
                "replicas": 1,
                "serviceName": NAME,
                "selector": {"matchLabels": LABELS},
                # One writer on a ReadWriteOnce volume: the old pod goes before the new starts.
                "updateStrategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": LABELS},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": POD_SECURITY_CONTEXT,
                        "containers": [
                            {
                                "name": "postgres",
                                "image": cfg.image,
                                "env": env,
                                "ports": [{"name": "postgres", "containerPort": PORT}],
                                "resources": RESOURCES,
                                "securityContext": CONTAINER_SECURITY_CONTEXT,
                                "readinessProbe": {**probe, "initialDelaySeconds": 5},
                                "livenessProbe": {
                                    **probe,
                                    "initialDelaySeconds": 30,
                                    "failureThreshold": 6,
                                },
                                "volumeMounts": [
                                    {"name": "data", "mountPath": MOUNT_PATH},
                                    {"name": "run", "mountPath": "/var/run/postgresql"},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {
                                "name": "data",
                                "persistentVolumeClaim": {"claimName": claim_name(cfg)},
                            },
                            {"name": "run", "emptyDir": {}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(
                ordered, pulumi.ResourceOptions(depends_on=[self.secret, self.claim])
            ),
        )
        # Only Argo's controller and server reach the database.
        self.network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=metadata,
            spec={
                "podSelector": {"matchLabels": LABELS},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": dict(c)}} for c in args.clients],
                        "ports": [{"port": PORT}],
                    }
                ],
            },
            opts=ordered,
        )
        self.host = host(args.namespace)
        self.register_outputs(
            {
                "host": self.host,
                "secret": self.secret.metadata["name"],
                "claim": self.claim.metadata["name"],
                "image": cfg.image,
            }
        )
