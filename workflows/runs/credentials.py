"""The stack's kubeconfig handed to the Kubernetes client without leaving its key in a file.

The Kubernetes Python client turns a kubeconfig's `*-data` fields (CA, client certificate, client
key) into files under $TMPDIR and deletes them only when the interpreter exits normally: a run
killed by SIGTERM, SIGHUP or SIGKILL leaves the stack's client key behind. `private_kubeconfig`
writes each of them instead to an anonymous memory file (Linux `memfd`), referenced as
`/proc/self/fd/N`: it is in no directory and goes with the process however that ends. Where
memfd does not exist (macOS), they go into a private directory (0700, files 0600) removed at exit,
on SIGTERM and on SIGHUP.
"""

from __future__ import annotations

import atexit
import base64
import copy
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

# Per kubeconfig section: the inline field and the file field the client reads instead.
DATA_FIELDS = {
    "clusters": ("cluster", {"certificate-authority-data": "certificate-authority"}),
    "users": (
        "user",
        {"client-certificate-data": "client-certificate", "client-key-data": "client-key"},
    ),
}


class CredentialFiles:
    """Files holding credentials for as long as this process lives, and not longer."""

    def __init__(self) -> None:
        self._descriptors: list[int] = []
        self._directory: str | None = None

    def add(self, name: str, content: bytes) -> str:
        """A path the client can open that reads ``content``."""
        if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
            descriptor = os.memfd_create(name, os.MFD_CLOEXEC)
            self._descriptors.append(descriptor)
            view = memoryview(content)
            while view:
                view = view[os.write(descriptor, view) :]
            return f"/proc/self/fd/{descriptor}"
        path = os.path.join(self._private_directory(), name)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        return path

    def close(self) -> None:
        for descriptor in self._descriptors:
            os.close(descriptor)
        self._descriptors = []
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _private_directory(self) -> str:
        if self._directory is None:
            self._directory = tempfile.mkdtemp(prefix="argo-fanout-")  # mode 0700
            atexit.register(self.close)
            for signum in (signal.SIGTERM, signal.SIGHUP):
                # Only where nobody handles it yet: exit through atexit, which removes them.
                if signal.getsignal(signum) is signal.SIG_DFL:
                    signal.signal(signum, lambda number, _frame: sys.exit(128 + number))
        return self._directory


def private_kubeconfig(kubeconfig: Mapping[str, Any]) -> tuple[dict[str, Any], CredentialFiles]:
    """A copy of ``kubeconfig`` whose inline credentials are files of the returned holder."""
    document = copy.deepcopy(dict(kubeconfig))
    files = CredentialFiles()
    for section, (body_key, fields) in DATA_FIELDS.items():
        for index, entry in enumerate(document.get(section) or []):
            body = entry.get(body_key) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            for data_field, file_field in fields.items():
                if data_field in body:
                    content = base64.b64decode(body.pop(data_field))
                    body[file_field] = files.add(f"{section}-{index}-{file_field}", content)
    return document, files
