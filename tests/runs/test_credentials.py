"""The run commands' Kubernetes client never leaves the stack's client key in $TMPDIR."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import kubernetes
import pytest

from workflows.runs.credentials import private_kubeconfig

KEY = b"-----BEGIN PRIVATE KEY-----\nS3CRET\n-----END PRIVATE KEY-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n"


def kubeconfig() -> dict:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://127.0.0.1:6443",
                    "certificate-authority-data": b64(CERT),
                },
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)},
            }
        ],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }


def test_the_client_reads_the_credentials_from_no_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    document, files = private_kubeconfig(kubeconfig())
    try:
        client = kubernetes.config.new_client_from_config_dict(document)
        configuration = client.configuration
        assert Path(configuration.key_file).read_bytes() == KEY
        assert Path(configuration.cert_file).read_bytes() == CERT
        assert Path(configuration.ssl_ca_cert).read_bytes() == CERT
        assert list(tmp_path.iterdir()) == []
    finally:
        files.close()
    assert "client-key-data" in kubeconfig()["users"][0]["user"]  # the input is not changed


# The child starts with SIGTERM and SIGHUP at their default disposition, as from a terminal:
# under `nohup` (or any parent that ignores SIGHUP) it inherits SIG_IGN, which the program keeps,
# so the signal would be ignored and the test would wait for ever.
CHILD = textwrap.dedent(
    """
    import json, signal, sys
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    from workflows.runs.argo import KubernetesArgoApi
    api = KubernetesArgoApi(json.loads(sys.argv[1]), "dev")
    print("ready", flush=True)
    sys.stdin.read()  # until the parent kills it
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_killed_run_leaves_no_key_in_tmpdir(tmp_path, signum):
    import json

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(kubeconfig())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout.readline() == "ready\n"
    child.send_signal(signum)
    child.wait()
    child.stdin.close()
    child.stdout.close()
    leftovers = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert not any(KEY in path.read_bytes() for path in leftovers), leftovers


def test_without_memfd_the_files_are_private_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.delattr(os, "memfd_create")
    monkeypatch.setattr("atexit.register", lambda *_: None)  # this test closes them itself
    monkeypatch.setattr("signal.signal", lambda *_: None)
    document, files = private_kubeconfig(kubeconfig())
    key = Path(document["users"][0]["user"]["client-key"])
    assert key.read_bytes() == KEY
    assert key.stat().st_mode & 0o777 == 0o600 and key.parent.stat().st_mode & 0o777 == 0o700
    files.close()
    assert list(tmp_path.iterdir()) == []
