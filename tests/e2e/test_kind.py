"""End to end on kind: pulumi up a fresh stack, run log-count through `submit --wait`'s code,
check the totals against an independent count, destroy, and leave no cluster behind.

Needs docker (with a reachable daemon), kind, kubectl and pulumi; skipped with the missing ones
named otherwise. The stack lives in a temporary local Pulumi backend, so nothing is shared with
the developer's own stacks. Run it alone with `pytest -m e2e` (minutes: it builds a cluster);
$ARGO_FANOUT_E2E_REQUIRED=1 turns the skip into a failure, for CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pulumi.automation as auto
import pytest

from tests.support.oracle import expected_result
from workflows import staging
from workflows.job import JOB_DIR
from workflows.runs import argo
from workflows.runs.stack import REPO_ROOT, PulumiStack, read_outputs
from workflows.runs.submit import Runtime, SubmitOptions, run_submission

TOOLS = ("docker", "kind", "kubectl", "pulumi")
GENERATE = JOB_DIR / "generate.py"
SHARDS = 4
KEYWORDS = ("INFO", "WARN", "ERROR", "DEBUG")
# Generous bounds for a cold kind cluster: image pulls dominate the first run.
RUN_TIMEOUT_SECONDS = 900
DOCKER_INFO_TIMEOUT_SECONDS = 30
# Set to 1 where the tools are meant to be there (the e2e-kind workflow): a skip becomes a failure.
REQUIRED_ENV = "ARGO_FANOUT_E2E_REQUIRED"


def skip_reason() -> str | None:
    """Why this machine cannot run the test, or None when it can."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"end-to-end on kind needs {', '.join(missing)} on PATH"
    try:
        subprocess.run(
            ["docker", "info"],
            check=True,
            capture_output=True,
            timeout=DOCKER_INFO_TIMEOUT_SECONDS,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return "end-to-end on kind needs a docker daemon: `docker info` failed"
    return None


def kind_clusters() -> list[str]:
    listed = subprocess.run(["kind", "get", "clusters"], check=True, capture_output=True, text=True)
    return listed.stdout.split()


@pytest.fixture
def pulumi_backend(tmp_path, monkeypatch):
    """A throwaway local backend and passphrase, for this process and the pulumi CLI alike."""
    backend = tmp_path / "backend"
    backend.mkdir()
    monkeypatch.setenv("PULUMI_BACKEND_URL", backend.as_uri())
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "argo-fanout-e2e")
    return backend


@pytest.mark.e2e
def test_log_count_on_kind(tmp_path, pulumi_backend):
    reason = skip_reason()
    if reason is not None and os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{reason} (and {REQUIRED_ENV}=1 requires this test to run)")
    if reason is not None:
        pytest.skip(reason)
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "data"
    log = tmp_path / "e2e.log"
    subprocess.run(
        [sys.executable, str(GENERATE), "--output", str(log), "--size", "3MiB", "--seed", "11"],
        check=True,
        capture_output=True,
    )
    stack = auto.create_stack(name, work_dir=str(REPO_ROOT))
    try:
        stack.set_config("argo-fanout:target", auto.ConfigValue("kind"))
        stack.set_config("argo-fanout:kind.clusterName", auto.ConfigValue(name), path=True)
        stack.set_config("argo-fanout:kind.dataDir", auto.ConfigValue(str(data_dir)), path=True)
        stack.up(on_output=print, color="never")

        outputs = read_outputs(PulumiStack(stack))
        assert Path(outputs.data_dir) == data_dir
        options = SubmitOptions(
            parameters={"numParts": str(SHARDS), "keywords": ",".join(KEYWORDS)},
            input_path=log,
            wait=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        submission = run_submission(outputs, options, Runtime(), print)

        result = json.loads(submission.result)
        staged = submission.workflow["spec"]["arguments"]["parameters"]
        (staged_input,) = [p["value"] for p in staged if p["name"] == staging.INPUT_PARAMETER]
        assert re.fullmatch(rf"{staging.INPUTS_DIR}/[^/]+/{re.escape(log.name)}", staged_input)
        assert (data_dir / staged_input).read_bytes() == log.read_bytes()
        expected = expected_result(log, KEYWORDS, "substring")
        assert {key: result[key] for key in expected} == expected
        assert result["shards"] == SHARDS
        assert len(argo.fanout_items(submission.workflow)) == SHARDS
    finally:
        try:
            stack.destroy(on_output=print, color="never")
            stack.workspace.remove_stack(name)  # also removes Pulumi.<name>.yaml
        finally:
            left = name in kind_clusters()
            if left:  # never leak a cluster, even when the assertion below fails the test
                subprocess.run(["kind", "delete", "cluster", "--name", name], check=False)
            (REPO_ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)
    assert not left, f"kind cluster {name} was still there after pulumi destroy"
