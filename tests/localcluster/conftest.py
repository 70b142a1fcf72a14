"""Fixtures for the local real cluster: skip (saying why) unless `make cluster` has it up.

`make e2e-local` sets ARGO_FANOUT_LOCALCLUSTER_REQUIRED=1, which turns a skip into a failure.
"""

from __future__ import annotations

import os

import pytest

from e2e.localcluster import cluster as lc
from tests.localcluster.support import PLATFORM_RELEASE, LocalCluster
from workflows.chart import LOG_COUNT_CHART, PLATFORM_CHART

REQUIRED_ENV = "ARGO_FANOUT_LOCALCLUSTER_REQUIRED"


def skip_reason(layout: lc.Layout) -> str | None:
    if not layout.kubeconfig.exists():
        return f"the local real cluster is not up ({layout.kubeconfig} is missing): `make cluster`"
    if lc.status_of(layout) != "running":
        return (
            "the local real cluster is not fully running: `make cluster` (status: "
            + lc.status_of(layout)
            + ")"
        )
    return None


@pytest.fixture(scope="session")
def cluster() -> LocalCluster:
    layout = lc.Layout.default()
    reason = skip_reason(layout)
    if reason is not None and os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{reason} (and {REQUIRED_ENV}=1 requires these tests to run)")
    if reason is not None:
        pytest.skip(reason)
    return LocalCluster(layout)


@pytest.fixture(scope="module")
def release(cluster: LocalCluster):
    """The platform and log-count on it, installed with real Helm; the WorkflowTemplate's name."""
    cluster.install(PLATFORM_CHART, PLATFORM_RELEASE, cluster.platform_values())
    cluster.install(LOG_COUNT_CHART, "log-count", cluster.release_values())
    yield "log-count"
    cluster.uninstall("log-count")
    cluster.uninstall(PLATFORM_RELEASE)


@pytest.fixture(scope="module")
def life(cluster, tmp_path_factory):
    """A `local` stack through the real Pulumi CLI, one per test module, torn down after it
    (test_pulumi_lifecycle.lifecycle)."""
    from tests.localcluster.test_pulumi_lifecycle import lifecycle

    with lifecycle(cluster, tmp_path_factory) as started:
        yield started
