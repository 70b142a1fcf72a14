"""Target `kind`: a local kind cluster the stack creates, Argo installed by the program.

hostPath storage only here: the program mounts one host directory (kind.dataDir) into every
node and makes it writable; on a real multi-node cluster each node would have its own,
unprepared directory. The component is infra/cluster.py's KindCluster.
"""

from infra.targets.contracts import TargetSpec

SPEC = TargetSpec(
    name="kind",
    fields=("clusterName", "nodeImage", "workers", "dataDir"),
    storage_types=("hostPath", "existingClaim"),
    compute_profiles=("none",),
    default_compute="none",
    argo_manager=None,
    owns_cluster=True,
    component="infra.cluster:build_kind",
    local_only_argo_server=True,
)
