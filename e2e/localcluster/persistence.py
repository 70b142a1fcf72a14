"""A host PostgreSQL for the local real cluster's Argo controller (`cluster.py up --persistence`).

The controller runs as a host process, so it reaches a PostgreSQL on 127.0.0.1 directly: Debian's
`postgresql` package's server, run as the `postgres` user on its own data directory under the
cluster's state directory and a port of its own (never the package's 5432 cluster), and stopped
and removed by `cluster.py down`. Argo gets the same `persistence` config as on a stack
(infra/argodb.py): node status offloaded, finished workflows archived.

Standard library only (cluster.py runs without the virtualenv); the tests use `query` too.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import subprocess
from pathlib import Path

from infra import argodb

HOST = "127.0.0.1"
PORT = 55432  # not 5432, which a packaged cluster may hold
OS_USER = "postgres"  # the Debian package's system user; the server refuses to run as root
PACKAGE_BIN = Path("/usr/lib/postgresql")
STATE_FILE = "persistence.json"  # in the layout's config dir: what `up` enabled


class PersistenceError(Exception):
    """The host PostgreSQL cannot be prepared or reached."""


def server_bin() -> Path:
    """The newest installed server's bin directory (/usr/lib/postgresql/<major>/bin)."""
    found = sorted(
        (p for p in PACKAGE_BIN.glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise PersistenceError(
            "no PostgreSQL server under /usr/lib/postgresql: "
            "`bash e2e/localcluster/install-deps.sh --persistence` installs Debian's postgresql"
        )
    return found[-1]


def as_postgres(argv: list) -> list[str]:
    """argv run as the postgres user (setpriv execs it: the pid is the server's own)."""
    return [
        "setpriv",
        f"--reuid={OS_USER}",
        f"--regid={OS_USER}",
        "--init-groups",
        "--",
        *[str(a) for a in argv],
    ]


def password_file(config_dir: Path) -> Path:
    return config_dir / "postgres-password"


def read_password(config_dir: Path) -> str:
    return password_file(config_dir).read_text().strip()


def enabled(config_dir: Path) -> bool:
    return (config_dir / STATE_FILE).exists()


def prepare(data_dir: Path, socket_dir: Path, config_dir: Path) -> None:
    """A data directory initialised with a generated password for user `argo` (kept 0600 in
    the config dir, which `down` removes), owned by the postgres user; idempotent."""
    try:
        user = pwd.getpwnam(OS_USER)
    except KeyError:
        raise PersistenceError(
            f"no {OS_USER} user: install Debian's postgresql "
            "(`bash e2e/localcluster/install-deps.sh --persistence`)"
        ) from None
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / STATE_FILE).write_text(json.dumps({"host": HOST, "port": PORT}))
    for directory in (data_dir.parent, socket_dir):
        directory.mkdir(parents=True, exist_ok=True)
        os.chown(directory, user.pw_uid, user.pw_gid)
        directory.chmod(0o700)
    if (data_dir / "PG_VERSION").exists():
        return
    secret = password_file(config_dir)
    if not secret.exists():
        secret.touch(mode=0o600)
        secret.write_text(secrets.token_hex(16))
    # initdb reads the password from a file only the postgres user can read, removed at once.
    pwfile = data_dir.parent / "pwfile"
    pwfile.write_text(read_password(config_dir))
    os.chown(pwfile, user.pw_uid, user.pw_gid)
    pwfile.chmod(0o600)
    try:
        result = subprocess.run(
            as_postgres(
                [
                    server_bin() / "initdb",
                    f"--pgdata={data_dir}",
                    f"--username={argodb.USER}",
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise PersistenceError(f"initdb failed: {result.stderr.strip()[-500:]}")


def server_argv(data_dir: Path, socket_dir: Path) -> list[str]:
    return as_postgres(
        [
            server_bin() / "postgres",
            "-D",
            data_dir,
            "-h",
            HOST,
            "-p",
            PORT,
            "-k",
            socket_dir,
        ]
    )


def psql_env(config_dir: Path) -> dict[str, str]:
    return {**os.environ, "PGPASSWORD": read_password(config_dir), "PGCONNECT_TIMEOUT": "5"}


def query(config_dir: Path, sql: str, database: str | None = None) -> str:
    """One SQL statement through psql over TCP as `argo`; its unaligned, tuples-only output."""
    result = subprocess.run(
        [
            server_bin() / "psql",
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            HOST,
            "-p",
            str(PORT),
            "-U",
            argodb.USER,
            "-d",
            database or argodb.DATABASE,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        env=psql_env(config_dir),
        check=False,
    )
    if result.returncode != 0:
        raise PersistenceError(f"psql: {result.stderr.strip()[-300:]}")
    return result.stdout.strip()


def ready(config_dir: Path) -> bool:
    try:
        query(config_dir, "SELECT 1", database="postgres")
    except PersistenceError:
        return False
    return True


def create_database(config_dir: Path) -> None:
    exists = query(
        config_dir,
        f"SELECT 1 FROM pg_database WHERE datname = '{argodb.DATABASE}'",
        database="postgres",
    )
    if exists != "1":
        query(config_dir, f"CREATE DATABASE {argodb.DATABASE}", database="postgres")


def secret_object(namespace: str, config_dir: Path) -> dict:
    """The Secret Argo reads the credentials from (never printed: applied through stdin)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": argodb.SECRET, "namespace": namespace},
        "type": "Opaque",
        "stringData": {
            argodb.USERNAME_KEY: argodb.USER,
            argodb.PASSWORD_KEY: read_password(config_dir),
        },
    }


def argo_persistence() -> dict:
    return argodb.persistence_config(HOST, PORT)
