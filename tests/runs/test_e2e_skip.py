"""The kind end-to-end test skips, naming what is missing, where its tools are not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e import test_kind
from workflows.runs.stack import REPO_ROOT

E2E_TEST = Path(test_kind.__file__)


def test_skip_reason_names_every_missing_tool(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert test_kind.skip_reason() == (
        "end-to-end on kind needs docker, kind, kubectl, pulumi on PATH"
    )


def test_skip_reason_names_an_unreachable_docker_daemon(monkeypatch, tmp_path):
    for tool in test_kind.TOOLS:
        fake = tmp_path / tool
        fake.write_text("#!/bin/sh\nexit 1\n")  # every tool is there, but `docker info` fails
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert test_kind.skip_reason() == (
        "end-to-end on kind needs a docker daemon: `docker info` failed"
    )


def run_e2e_test(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{E2E_TEST}::test_log_count_on_kind",
            "-m",
            "e2e",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_e2e_test_skips_with_its_reason_without_the_tools(tmp_path):
    """Run the e2e test under pytest with an empty PATH: it must skip and say why."""
    env = {**os.environ, "PATH": str(tmp_path)}
    env.pop(test_kind.REQUIRED_ENV, None)
    ran = run_e2e_test(env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 skipped" in ran.stdout
    assert "end-to-end on kind needs docker, kind, kubectl, pulumi on PATH" in ran.stdout


def test_the_e2e_test_fails_instead_where_it_is_required(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path), test_kind.REQUIRED_ENV: "1"}
    ran = run_e2e_test(env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "1 failed" in ran.stdout
    assert f"(and {test_kind.REQUIRED_ENV}=1 requires this test to run)" in ran.stdout
