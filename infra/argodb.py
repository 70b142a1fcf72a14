"""The names Argo's persistence database is reached by, and Argo's `persistence` config for it.

Standard library only: the Pulumi program's PostgreSQL (infra/postgres.py) and the local real
cluster's host PostgreSQL (e2e/localcluster/persistence.py, run without the virtualenv) share
them, so Argo is configured the same way on both.
"""

from __future__ import annotations

from typing import Any

SECRET = "argo-postgres"  # the Secret in Argo's namespace holding the credentials
USERNAME_KEY = "username"
PASSWORD_KEY = "password"
DATABASE = "argo"
USER = "argo"
TABLE = "argo_workflows"  # Argo's tableName: offloaded node status (it adds the archive's)
ARCHIVE_TABLE = "argo_archived_workflows"
PORT = 5432


def persistence_config(host: str, port: int, archive_ttl: str | None = None) -> dict[str, Any]:
    """Argo's `persistence` (the controller ConfigMap's, argo-helm `controller.persistence`):
    node status offloaded to and finished workflows archived in this PostgreSQL database."""
    config: dict[str, Any] = {
        "nodeStatusOffLoad": True,
        "archive": True,
        "postgresql": {
            "host": host,
            "port": port,
            "database": DATABASE,
            "tableName": TABLE,
            "userNameSecret": {"name": SECRET, "key": USERNAME_KEY},
            "passwordSecret": {"name": SECRET, "key": PASSWORD_KEY},
            # Traffic that never leaves the cluster (or the host) to a database only Argo reaches.
            "ssl": False,
        },
    }
    if archive_ttl is not None:
        config["archiveTTL"] = archive_ttl
    return config
