"""Wide runs on the local real cluster: pods per minute and the Workflow object's size.

    .venv/bin/python bench/argo_scale.py [--shards 100 300 1000]    # as root, cluster up

For each width it installs log-count (real Helm) on the cluster `make cluster` started, runs it
on a generated input, and prints, from that one run: the step pods Argo ran and how many a
minute (from the Workflow's startedAt to finishedAt), the size of the Workflow object as the
API server stores it, where its node status lives (inline in `status.nodes`, gzip-compressed in
`status.compressedNodes`, or offloaded to PostgreSQL with `make cluster PERSISTENCE=1`), and
the node status's own JSON size. The 1,000-shard run took 18.5 minutes on an otherwise idle
2-core node (54 pods a minute), over 40 beside a build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import uuid
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from e2e.localcluster import cluster as lc  # noqa: E402
from tests.localcluster.conftest import skip_reason  # noqa: E402
from tests.localcluster.support import (  # noqa: E402
    GROUP,
    PLATFORM_RELEASE,
    VERSION,
    LocalCluster,
)
from tests.localcluster.test_log_count import generate  # noqa: E402
from workflows.chart import LOG_COUNT_CHART, PLATFORM_CHART  # noqa: E402

RELEASE = "scale-count"
WIDTHS = (100, 300, 1000)


def seconds(start: str, end: str) -> float:
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def measure(cluster: LocalCluster, data: Path, shards: int) -> dict:
    name = cluster.submit(RELEASE, {"input": cluster.in_volume(data), "numParts": str(shards)})
    run = cluster.wait(name, timeout=max(1800, shards * 6))
    stored = cluster.objects.get_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "workflows", name
    )
    status = stored["status"]
    where = (
        "offloaded"
        if status.get("offloadNodeStatusVersion")
        else "compressed"
        if status.get("compressedNodes")
        else "inline"
    )
    pods = [n for n in run.nodes() if n.get("type") == "Pod"]
    duration = seconds(status["startedAt"], status["finishedAt"])
    figures = {
        "shards": shards,
        "phase": run.phase,
        "pods": len(pods),
        "minutes": duration / 60,
        "pods_per_minute": len(pods) / (duration / 60),
        "object_bytes": len(json.dumps(stored, separators=(",", ":"))),
        "nodes": where,
        "nodes_json_bytes": len(json.dumps(run.workflow["status"]["nodes"], separators=(",", ":"))),
    }
    cluster.delete_workflow(name)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, nargs="+", default=list(WIDTHS))
    args = parser.parse_args(argv)
    layout = lc.Layout.default()
    reason = skip_reason(layout)
    if reason is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    cluster = LocalCluster(layout)
    values = cluster.release_values(fullnameOverride=RELEASE)
    # Every shard's pod may run at once: the node, the scheduler and Argo set the pace.
    values["workflow"] = {**values["workflow"], "parallelism": max(args.shards)}
    # The platform first: the steps' ServiceAccount (and its RBAC) the job's block names.
    cluster.install(PLATFORM_CHART, PLATFORM_RELEASE, cluster.platform_values())
    cluster.install(LOG_COUNT_CHART, RELEASE, values)
    root = cluster.volume / "inputs" / f"scale-{uuid.uuid4().hex[:8]}"
    offload = "on" if lc.persistence.enabled(layout.config) else "off"
    print(f"local real cluster, offloading {offload}: one run per width", flush=True)
    print(
        f"{'shards':>7} {'phase':>10} {'pods':>6} {'minutes':>8} {'pods/min':>9} "
        f"{'object':>10} {'nodes':>11} {'nodes JSON':>11}",
        flush=True,
    )
    try:
        data = generate(root / "app.log", "8MiB", 17)
        for shards in args.shards:
            f = measure(cluster, data, shards)
            print(
                f"{f['shards']:>7} {f['phase']:>10} {f['pods']:>6} {f['minutes']:>8.1f} "
                f"{f['pods_per_minute']:>9.1f} {f['object_bytes'] / 1e6:>8.3f}MB "
                f"{f['nodes']:>11} {f['nodes_json_bytes'] / 1e6:>9.3f}MB",
                flush=True,
            )
    finally:
        cluster.uninstall(RELEASE)
        cluster.uninstall(PLATFORM_RELEASE)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
